"""What a transaction changed that the protocol's caches hold, said by the service that changed it.

`ClientService` and `ApiService` note each change in their realm's `AccessChanges`;
`Services.realm` hands the collected changes to the client directory once the transaction
has committed (never before: a rolled-back change must not be announced, and a reload
between the change and its commit would read the old rows). Another process sees the
change when its own cache entries expire (`settings.client_cache_seconds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccessChanges:
    client_ids: set[str] = field(default_factory=set)
    # An API or its permissions: the API list, and any client's direct permissions.
    apis: bool = False

    def client(self, client_id: str) -> None:
        self.client_ids.add(client_id)

    def api(self) -> None:
        self.apis = True

    def __bool__(self) -> bool:
        return self.apis or bool(self.client_ids)
