"""OAuth clients (RFC 6749 §2): public or confidential, their redirect URIs, grants and direct permissions."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from authgate import text, tokens
from authgate.clock import utcnow
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.storage import limits
from authgate.storage.models import Client, Permission
from authgate.subjects import has_user_subject_shape

if TYPE_CHECKING:
    from authgate.services import Realm

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", "password")
CLIENT_TYPES = ("public", "confidential")
MIN_SECRET_LENGTH = 32
# No "/": authgate/subjects.py gives an older client shaped like a user subject "client/<id>".
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
_SECRET_DIGEST = re.compile(r"^[0-9a-f]{64}$")  # tokens.digest: SHA-256, lowercase hex


@dataclass
class ClientSpec:
    """Everything a client is made of; the admin API, CLI and apply file all fill one of these."""

    client_id: str
    type: str = "confidential"
    name: str | None = None
    client_secret: str | None = None
    # The stored digest of the secret, as `authgate export --include-secrets` writes it (a restore).
    secret_hash: str | None = None
    redirect_uris: builtins.list[str] = field(default_factory=list)
    post_logout_redirect_uris: builtins.list[str] = field(default_factory=list)
    web_origins: builtins.list[str] = field(default_factory=list)
    grant_types: builtins.list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    first_party: bool = True
    default_audience: str | None = None
    permissions: dict[str, builtins.list[str]] = field(default_factory=dict)
    disabled: bool = False


def validate_redirect_uri(uri: str, field_name: str = "redirect_uris") -> str:
    """RFC 6749 §3.1.2: absolute, no fragment. Plain http only on loopback (RFC 8252 §8.3)."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment or "#" in uri:
        raise InvalidInput(f"{uri!r} must be an absolute URI without a fragment", field=field_name)
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "[::1]", "::1"}:
        raise InvalidInput(f"{uri!r}: plain http is allowed only for loopback addresses", field=field_name)
    if parts.scheme in {"http", "https"} and not parts.hostname:
        raise InvalidInput(f"{uri!r} has no host", field=field_name)
    if parts.scheme.lower() in {"javascript", "data", "vbscript", "file"}:
        raise InvalidInput(f"{uri!r} uses a forbidden scheme", field=field_name)
    return uri


def validate_origin(origin: str) -> str:
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"} or parts.query:
        raise InvalidInput(f"{origin!r} must be an origin such as https://app.example", field="web_origins")
    return f"{parts.scheme}://{parts.netloc}"


class ClientService:
    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.session: Session = realm.session

    def find(self, client_id: str) -> Client | None:
        if not limits.is_storable(client_id, limits.CLIENT_ID):
            return None  # no client has it; PostgreSQL would refuse to compare it
        return self.session.scalar(
            select(Client)
            .where(Client.client_id == client_id)
            .options(selectinload(Client.permissions).selectinload(Permission.api))
        )

    def get(self, client_id: str) -> Client:
        client = self.find(client_id)
        if client is None:
            raise NotFound("client", client_id)
        return client

    def list(self) -> Sequence[Client]:
        return self.session.scalars(
            select(Client).options(selectinload(Client.permissions).selectinload(Permission.api)).order_by(Client.client_id)
        ).all()

    def create(self, spec: ClientSpec) -> tuple[Client, str | None]:
        """Create a client; returns it and, for a generated secret, the secret (shown once)."""
        if not _CLIENT_ID.match(spec.client_id):
            raise InvalidInput("client_id must be 1–200 letters, digits or . _ : -", field="client_id")
        if has_user_subject_shape(spec.client_id):
            # RFC 9068 §5: a client's tokens carry its client_id as `sub`, never a user's.
            raise InvalidInput("client_id must not be all digits or a UUID: users' subjects have those shapes",
                               field="client_id")
        if self.find(spec.client_id) is not None:
            raise AlreadyExists("client", spec.client_id)
        client = Client(client_id=spec.client_id)
        generated = self._fill(client, spec, creating=True)
        self.session.add(client)
        self.session.flush()
        self.realm.changed("client.created", spec.client_id)
        self.realm.access_changes.client(spec.client_id)
        return client, generated

    def update(self, spec: ClientSpec) -> tuple[Client, bool]:
        """Make an existing client match `spec`; returns it and whether anything changed."""
        client = self.get(spec.client_id)
        before = describe_state(client)
        self._fill(client, spec, creating=False)
        changed = describe_state(client) != before
        if changed:
            self.realm.changed("client.updated", spec.client_id)
            self.realm.access_changes.client(spec.client_id)
        return client, changed

    def rotate_secret(self, client_id: str) -> str:
        client = self.get(client_id)
        if client.type != "confidential":
            raise InvalidInput("Public clients have no secret.", field="type")
        secret = tokens.new_opaque(32)
        client.secret_hash = tokens.digest(secret)
        client.secret_rotated_at = utcnow()
        self.realm.changed("client.secret_rotated", client_id)
        self.realm.access_changes.client(client_id)
        return secret

    def delete(self, client_id: str) -> None:
        client = self.get(client_id)
        self.session.delete(client)
        self.realm.changed("client.deleted", client_id)
        self.realm.access_changes.client(client_id)

    def _fill(self, client: Client, spec: ClientSpec, *, creating: bool) -> str | None:
        if spec.type not in CLIENT_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(CLIENT_TYPES)}", field="type")
        unknown = [g for g in spec.grant_types if g not in GRANT_TYPES]
        if unknown:
            known = ", ".join(GRANT_TYPES)
            raise InvalidInput(f"unknown grant type {unknown[0]!r}; known: {known}", field="grant_types")
        if spec.type == "public" and "client_credentials" in spec.grant_types:
            # RFC 6749 §4.4: the client credentials grant MUST only be used by confidential clients.
            raise InvalidInput("client_credentials needs a confidential client", field="grant_types")
        if "authorization_code" in spec.grant_types and not spec.redirect_uris:
            raise InvalidInput("authorization_code needs at least one redirect URI", field="redirect_uris")
        if spec.type == "public" and spec.client_secret:
            raise InvalidInput("a public client has no secret", field="client_secret")
        if spec.type == "public" and spec.secret_hash:
            raise InvalidInput("a public client has no secret", field="secret_hash")
        if spec.secret_hash is not None and not _SECRET_DIGEST.match(spec.secret_hash):
            raise InvalidInput("secret_hash must be the SHA-256 digest (64 lowercase hex digits) that export writes",
                               field="secret_hash")
        if spec.client_secret is not None and len(spec.client_secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(
                f"client_secret must have at least {MIN_SECRET_LENGTH} characters; omit it to have one generated",
                field="client_secret",
            )
        if spec.default_audience is not None:
            self.realm.apis.get(spec.default_audience)
        client.type = spec.type
        client.name = text.checked(spec.name, limits.CLIENT_NAME, field="name", what="Name")
        client.redirect_uris = [validate_redirect_uri(u) for u in spec.redirect_uris]
        client.post_logout_redirect_uris = [
            validate_redirect_uri(uri, "post_logout_redirect_uris") for uri in spec.post_logout_redirect_uris
        ]
        client.web_origins = [validate_origin(o) for o in spec.web_origins]
        client.grant_types = list(dict.fromkeys(spec.grant_types))
        client.first_party = spec.first_party
        client.default_audience = spec.default_audience
        client.disabled = spec.disabled
        wanted = self.realm.apis.resolve(spec.permissions, field="permissions")
        if {p.id for p in wanted} != {p.id for p in client.permissions}:
            client.permissions = wanted
        generated = None
        if spec.type == "public":
            client.secret_hash = None
        elif spec.client_secret is not None:
            if not tokens.matches(spec.client_secret, client.secret_hash):
                client.secret_hash = tokens.digest(spec.client_secret)
                client.secret_rotated_at = utcnow()
        elif spec.secret_hash is not None:
            if spec.secret_hash != client.secret_hash:
                client.secret_hash = spec.secret_hash
                client.secret_rotated_at = utcnow()
        elif creating or client.secret_hash is None:
            generated = tokens.new_opaque(32)
            client.secret_hash = tokens.digest(generated)
        return generated


def describe_state(client: Client) -> tuple[object, ...]:
    return (
        client.type, client.name, tuple(client.redirect_uris), tuple(client.post_logout_redirect_uris),
        tuple(client.web_origins), tuple(client.grant_types), client.first_party, client.default_audience,
        client.disabled, client.secret_hash, tuple(sorted(p.id for p in client.permissions)),
    )
