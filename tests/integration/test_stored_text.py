"""Free text the domain stores (names, descriptions, emails), from any caller: what the column
holds, or InvalidInput naming the field, on both databases (the CLI and realm files reach it
without the admin API's schemas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authgate import bootstrap
from authgate.access.clients import ClientSpec
from authgate.errors import InvalidInput
from authgate.services import Realm, Services

# TEST FIXTURE ONLY: a throwaway admin password.
ROOT_PASSWORD = "violet-harbour-lantern-1987"
LONG = "n" * 201  # one past the name columns (users, clients, APIs)
CASES: list[tuple[str, str, Callable[[Realm], Any]]] = [
    ("user name too long", "name", lambda realm: realm.users.create("fuzzer", name=LONG)),
    ("NUL in a user name", "name", lambda realm: realm.users.create("fuzzer", name="a\x00b")),
    ("user name change too long", "name", lambda realm: realm.users.update("root", name=LONG)),
    (
        "NUL in an email",
        "email",
        lambda realm: realm.users.create("fuzzer", email="a\x00b@example.com"),
    ),
    (
        "role description too long",
        "description",
        lambda realm: realm.roles.create("fuzzer", "d" * 401),
    ),
    (
        "NUL in a role description",
        "description",
        lambda realm: realm.roles.update("admin", description="\x00"),
    ),
    ("API name too long", "name", lambda realm: realm.apis.create("fuzz-api", LONG)),
    (
        "API name change with NUL",
        "name",
        lambda realm: realm.apis.update("authgate-admin", name="a\x00"),
    ),
    ("NUL in an API identifier", "identifier", lambda realm: realm.apis.create("fuzz\x00api")),
    (
        "permission description too long",
        "description",
        lambda realm: realm.apis.add_permission("authgate-admin", "fuzz:read", "d" * 401),
    ),
    (
        "client name too long",
        "name",
        lambda realm: realm.clients.create(
            ClientSpec("fuzz-client", "public", LONG, grant_types=["password"])
        ),
    ),
]


def test_text_storage_cannot_hold_is_invalid_input(services: Services) -> None:
    """Every case in a transaction of its own, on one set-up per database."""
    bootstrap.initialize(services, admin_username="root", admin_password=ROOT_PASSWORD)
    wrong: list[str] = []
    for problem, field, change in CASES:
        try:
            with services.realm(actor="test") as realm:
                change(realm)
        except InvalidInput as refused:
            if refused.field != field:
                wrong.append(f"{problem}: refused on {refused.field!r}")
        else:
            wrong.append(f"{problem}: accepted")
    assert not wrong, wrong
