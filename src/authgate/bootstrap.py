"""What `authgate init` creates: the schema, signing keys, the admin API and role, the first admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from authgate.services import Services
from authgate.storage import migrate

ADMIN_API = "authgate-admin"
# The web console (/admin) is an OAuth client of this server like any other.
CONSOLE_CLIENT_ID = "authgate-console"
ADMIN_ROLE = "admin"
ADMIN_PERMISSIONS = (
    "users:read", "users:write", "roles:read", "roles:write", "apis:read", "apis:write",
    "clients:read", "clients:write", "keys:read", "keys:write", "audit:read",
)


@dataclass
class InitResult:
    schema_before: str | None
    schema_after: str
    admin_username: str
    admin_created: bool
    # Only when it was generated: shown once, never stored in the clear.
    admin_password: str | None


def prepare(services: Services) -> tuple[str | None, str]:
    """Schema to head and a signing key present: what any command that serves needs."""
    before, after = migrate.upgrade(services.database)
    services.keys.ensure_active()
    return before, after


def initialize(services: Services, admin_username: str = "admin", admin_password: str | None = None) -> InitResult:
    """Idempotent: a second run upgrades the schema if needed and changes nothing else."""
    before, after = prepare(services)
    with services.realm(actor="authgate init") as realm:
        if realm.apis.find(ADMIN_API) is None:
            realm.apis.create(ADMIN_API, "authgate administration", ADMIN_PERMISSIONS)
        else:
            api = realm.apis.get(ADMIN_API)
            missing = [name for name in ADMIN_PERMISSIONS if name not in {p.name for p in api.permissions}]
            for name in missing:
                realm.apis.add_permission(ADMIN_API, name)
        grants = {ADMIN_API: list(ADMIN_PERMISSIONS)}
        if realm.roles.find(ADMIN_ROLE) is None:
            realm.roles.create(ADMIN_ROLE, "Full access to the admin API and console", grants)
        else:
            realm.roles.set_permissions(ADMIN_ROLE, grants)
        generated = None
        created = False
        if realm.users.find(admin_username) is None:
            password = admin_password
            if password is None:
                password = generated = secrets.token_urlsafe(18)
            realm.users.create(admin_username, password=password, roles=[ADMIN_ROLE])
            created = True
    return InitResult(before, after, admin_username, created, generated)
