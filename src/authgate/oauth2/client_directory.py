"""Client records for the protocol endpoints, cached in-process for a few seconds.

The token endpoint is the hot path: looking a client up (with its direct
permissions) on every request would cost a database round-trip each time.
`ClientDirectory` keeps an immutable `ClientRecord` per client_id for
`settings.client_cache_seconds` (default 2 s; 0 disables the cache), plus the
set of known API identifiers and of registered web origins — three
`authgate.caching.Cache`s on one injected clock.

Invalidation is explicit: the services that change clients, APIs and
permissions (access/clients.py, access/apis.py) note it in the transaction's
`AccessChanges`, and `Services.realm` hands those to `changed()` once the
transaction has committed, so this process sees its own changes at once.
Changes made by another process are seen within the TTL. Secrets are held
only as their SHA-256 digests, as in the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from authgate.caching import Cache, Miss
from authgate.storage import limits
from authgate.storage.database import Database
from authgate.storage.models import Api, Client, Permission, client_permissions

MAX_CLIENTS = 10_000  # client ids held at once, known and unknown


@dataclass(frozen=True)
class ClientRecord:
    """What the protocol needs to know about a client; a snapshot, safe to share between threads."""

    pk: int
    client_id: str
    type: str  # "public" | "confidential"
    secret_hash: str | None
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    web_origins: tuple[str, ...]
    first_party: bool
    default_audience: str | None
    disabled: bool
    name: str | None = None
    # Registered itself (RFC 7591); its registered `scope` is the default of requests that name none.
    dynamic: bool = False
    registered_scope: str | None = None
    # Direct permissions (machine clients), by API identifier.
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_confidential(self) -> bool:
        return self.type == "confidential"

    def permissions_for(self, audience: str) -> tuple[str, ...]:
        return self.permissions.get(audience, ())


class ClientDirectory:
    """`get*` may read the database; `peek*` answer from memory only (`MISS` when they cannot)."""

    def __init__(self, database: Database, ttl_seconds: float = 2.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.ttl = ttl_seconds
        # Unknown ids are cached too (guessing costs no queries), so the keys come from requests: bounded.
        self._clients: Cache[str, ClientRecord | None] = Cache(
            self._load, ttl=ttl_seconds, clock=clock, max_entries=MAX_CLIENTS)
        self._audiences: Cache[None, frozenset[str]] = Cache(self._load_audiences, ttl=ttl_seconds, clock=clock)
        self._origins: Cache[None, frozenset[str]] = Cache(self._load_origins, ttl=ttl_seconds, clock=clock)

    def get(self, client_id: str) -> ClientRecord | None:
        """The client, or None if unknown; loads it unless fresh in memory.

        An id no client can have (too long for the column, or text it cannot hold) is unknown
        without a query: it is whatever a caller sent, and PostgreSQL would refuse to compare it.
        """
        if not limits.is_storable(client_id, limits.CLIENT_ID):
            return None
        return self._clients.get(client_id)

    def peek(self, client_id: str) -> ClientRecord | Miss | None:
        """`get` from memory only: MISS when the client is not fresh in memory."""
        if not limits.is_storable(client_id, limits.CLIENT_ID):
            return None
        return self._clients.peek(client_id)

    def get_audiences(self) -> frozenset[str]:
        """Identifiers of every API (RFC 8707 targets this server issues tokens for)."""
        return self._audiences.get(None)

    def peek_audiences(self) -> frozenset[str] | Miss:
        return self._audiences.peek(None)

    def get_origins(self) -> frozenset[str]:
        """Every web origin some client registered (a CORS preflight allows these)."""
        return self._origins.get(None)

    def peek_origins(self) -> frozenset[str] | Miss:
        return self._origins.peek(None)

    def is_registered_origin(self, origin: str) -> bool:
        """Whether some client lists `origin` among its web_origins (may read the database)."""
        return origin in self._origins.get(None)

    def refresh_due(self) -> None:
        """Reload, ahead of expiry, the entries asked for within the last TTL (the warmer calls this)."""
        for cache in (self._clients, self._audiences, self._origins):
            cache.refresh_due()

    def changed(self, client_ids: Iterable[str] = (), *, apis: bool = False) -> None:
        """These clients changed in a committed transaction (`access.changes`): forget them, and the
        registered origins. With `apis`, an API or its permissions changed: forget the API list and
        every client (a removed permission leaves any client's direct permissions)."""
        if apis:
            self._clients.clear()
            self._audiences.clear()
        for client_id in client_ids:
            self._clients.invalidate(client_id)
        self._origins.clear()

    def _load_audiences(self, _: None) -> frozenset[str]:
        with self.database.reader() as session:
            return frozenset(session.scalars(select(Api.identifier)))

    def _load_origins(self, _: None) -> frozenset[str]:
        with self.database.reader() as session:
            return frozenset(o for listed in session.scalars(select(Client.web_origins)) for o in listed or ())

    def _load(self, client_id: str) -> ClientRecord | None:
        # One round-trip: the client row outer-joined with its direct permissions.
        statement = (
            select(Client, Api.identifier, Permission.name)
            .outerjoin(client_permissions, client_permissions.c.client_pk == Client.id)
            .outerjoin(Permission, Permission.id == client_permissions.c.permission_id)
            .outerjoin(Api, Api.id == Permission.api_id)
            .where(Client.client_id == client_id)
        )
        with self.database.reader() as session:
            rows = session.execute(statement).all()
        if not rows:
            return None
        client = rows[0][0]
        grouped: dict[str, list[str]] = {}
        for _client, identifier, name in rows:
            if identifier is not None and name is not None:
                grouped.setdefault(identifier, []).append(name)
        return ClientRecord(
            pk=client.id, client_id=client.client_id, type=client.type, secret_hash=client.secret_hash,
            grant_types=frozenset(client.grant_types or ()), redirect_uris=tuple(client.redirect_uris or ()),
            post_logout_redirect_uris=tuple(client.post_logout_redirect_uris or ()),
            web_origins=tuple(client.web_origins or ()), first_party=bool(client.first_party),
            default_audience=client.default_audience, disabled=bool(client.disabled), name=client.name,
            dynamic=bool(client.dynamic), registered_scope=client.registered_scope,
            permissions={identifier: tuple(sorted(names)) for identifier, names in grouped.items()},
        )
