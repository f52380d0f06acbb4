"""What `authgate init` creates: the schema, signing keys, the admin API and role, the first admin."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from authgate.access.clients import ClientSpec
from authgate.errors import InvalidInput
from authgate.services import Realm, Services

logger = logging.getLogger("authgate.bootstrap")
ADMIN_API = "authgate-admin"
# The web console (/admin) is an OAuth client of this server like any other.
CONSOLE_CLIENT_ID = "authgate-console"
ADMIN_ROLE = "admin"
ADMIN_PERMISSIONS = (
    "users:read", "users:write", "roles:read", "roles:write", "apis:read", "apis:write",
    "clients:read", "clients:write", "keys:read", "keys:write", "audit:read", "webhooks:read", "webhooks:write",
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
    from authgate.storage import migrate  # Alembic only when migrating: ~10 MB a server process never needs

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
        _ensure_console_client(realm, services.settings.issuer)
        generated = None
        created = False
        if realm.users.find(admin_username) is None:
            password = admin_password
            if password is None:
                password = generated = secrets.token_urlsafe(18)
            realm.users.create(admin_username, password=password, roles=[ADMIN_ROLE])
            created = True
    return InitResult(before, after, admin_username, created, generated)


def _ensure_console_client(realm: Realm, issuer: str) -> None:
    """The web console's client: public, PKCE, exactly this issuer's /admin callback (kept in step with the issuer)."""
    spec = ClientSpec(
        client_id=CONSOLE_CLIENT_ID, type="public", name="authgate admin console",
        redirect_uris=[f"{issuer}/admin/callback"], post_logout_redirect_uris=[f"{issuer}/admin/signed-out"],
        grant_types=["authorization_code"], first_party=True, default_audience=ADMIN_API,
    )
    try:
        if realm.clients.find(CONSOLE_CLIENT_ID) is None:
            realm.clients.create(spec)
        else:
            realm.clients.update(spec)
    except InvalidInput as error:  # e.g. plain http on a public host: no console until the issuer is fixed
        logger.warning("admin console client not set up: %s", error.message)
