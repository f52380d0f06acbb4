"""What an identity provider is, the rules its settings follow, and where it is stored.

`ProviderSpec` is checked once, here, whichever way it arrives (realm file,
admin API, console). `IdentityProviders` stores specs in one transaction of
the caller's `Realm` (audited as admin changes); the client secret is sealed
with the master key, bound to the provider's alias, and never read back out
except to talk to the provider (or to an export that asks for secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select

from authgate import text
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.federation.presets import PRESETS
from authgate.masterkey import MasterKey
from authgate.storage import limits
from authgate.storage.models import IdentityProvider

if TYPE_CHECKING:
    from authgate.services import Realm

ProviderType = Literal["oidc", "oauth2"]
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CLAIM = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")  # RFC 6749 §3.3 scope-token
URL_LENGTH = 400
SECRET_LENGTH = 2000
# Where each piece of the person comes from in the provider's claims (ID token, then userinfo).
DEFAULT_CLAIMS = {"subject": "sub", "username": "preferred_username", "email": "email",
                  "email_verified": "email_verified", "name": "name"}
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")


@dataclass(frozen=True)
class RoleMapping:
    """`roles_from: {claim: groups, map: {engineering: developer}}`: upstream values to local roles."""

    claim: str
    map: Mapping[str, tuple[str, ...]]

    def roles_for(self, claims: Mapping[str, Any]) -> list[str]:
        value = claims.get(self.claim)
        values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        return [role for item in values if isinstance(item, str) for role in self.map.get(item, ())]


@dataclass(frozen=True)
class ProviderSpec:
    alias: str
    client_id: str
    display_name: str = ""
    type: ProviderType = "oidc"
    issuer: str | None = None
    scopes: tuple[str, ...] = ()
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    claims: Mapping[str, str] = field(default_factory=dict)
    roles_from: RoleMapping | None = None
    default_roles: tuple[str, ...] = ()
    trust_email: bool = False  # link by a verified email without asking for the local password
    upstream_logout: bool = False  # RP-initiated logout at the provider too (when it has end_session_endpoint)
    disabled: bool = False
    preset: str | None = None
    clients: tuple[str, ...] = ()  # offered only to these clients' sign-ins (empty: to every client)

    def offered_to(self, client_id: str | None) -> bool:
        """Whether signing in to `client_id` offers this provider (None: a sign-in to no client, e.g. the account
        page, is offered only the providers not restricted to some clients)."""
        return not self.clients or client_id in self.clients

    @property
    def claim_names(self) -> dict[str, str]:
        return {**DEFAULT_CLAIMS, **self.claims}

    def config(self) -> dict[str, Any]:
        """What the row's `config` column holds: the entry minus what has a column of its own."""
        data = asdict(self)
        for key in ("alias", "client_id", "display_name", "type", "issuer", "disabled"):
            data.pop(key)
        data["claims"] = dict(self.claims)
        if self.roles_from is not None:
            data["roles_from"] = {"claim": self.roles_from.claim,
                                  "map": {key: list(value) for key, value in self.roles_from.map.items()}}
        return data


def build_spec(values: Mapping[str, Any]) -> ProviderSpec:
    """A checked spec from an entry's values (a preset's filled in first); InvalidInput names the field."""
    preset_name = values.get("preset")
    if preset_name is not None and preset_name not in PRESETS:
        raise InvalidInput(f"Unknown preset; use one of {', '.join(PRESETS)}.", field="preset")
    merged: dict[str, Any] = {**PRESETS.get(preset_name or "", {})}
    merged.update({key: value for key, value in values.items() if value is not None})
    alias = str(merged.get("alias", ""))
    if not _ALIAS.match(alias):
        raise InvalidInput("Alias must be 1–64 lowercase letters, digits, _ or -, starting with a letter or digit.",
                           field="alias")
    kind = merged.get("type", "oidc")
    if kind not in ("oidc", "oauth2"):
        raise InvalidInput("Type must be oidc or oauth2.", field="type")
    spec = ProviderSpec(
        alias=alias,
        client_id=_required_text(merged.get("client_id"), URL_LENGTH, "client_id", "Client ID"),
        display_name=text.checked(str(merged.get("display_name") or alias), 200, field="display_name",
                                  what="Display name"),
        type=kind,
        issuer=_url(merged.get("issuer"), "issuer"),
        scopes=tuple(_scopes(merged.get("scopes"), kind)),
        authorization_endpoint=_url(merged.get("authorization_endpoint"), "authorization_endpoint"),
        token_endpoint=_url(merged.get("token_endpoint"), "token_endpoint"),
        userinfo_endpoint=_url(merged.get("userinfo_endpoint"), "userinfo_endpoint"),
        claims=_claims(merged.get("claims") or {}),
        roles_from=_role_mapping(merged.get("roles_from")),
        default_roles=tuple(_names(merged.get("default_roles") or [], "default_roles")),
        trust_email=bool(merged.get("trust_email", False)),
        upstream_logout=bool(merged.get("upstream_logout", False)),
        disabled=bool(merged.get("disabled", False)),
        preset=preset_name,
        clients=tuple(_client_ids(merged.get("clients") or [])),
    )
    if spec.type == "oidc" and spec.issuer is None:
        raise InvalidInput("An oidc provider needs its issuer (its discovery document is found from it).",
                           field="issuer")
    if spec.type == "oauth2":
        missing = [name for name in ENDPOINTS if getattr(spec, name) is None]
        if missing:
            raise InvalidInput(f"An oauth2 provider needs {', '.join(missing)}.", field=missing[0])
    return spec


def spec_from_row(row: IdentityProvider) -> ProviderSpec:
    config = dict(row.config or {})
    roles_from = config.pop("roles_from", None)
    return ProviderSpec(
        alias=row.alias, client_id=row.client_id, display_name=row.display_name,
        type="oauth2" if row.type == "oauth2" else "oidc", issuer=row.issuer,
        scopes=tuple(config.get("scopes") or ()),
        authorization_endpoint=config.get("authorization_endpoint"), token_endpoint=config.get("token_endpoint"),
        userinfo_endpoint=config.get("userinfo_endpoint"), claims=dict(config.get("claims") or {}),
        roles_from=RoleMapping(roles_from["claim"], {k: tuple(v) for k, v in roles_from["map"].items()})
        if roles_from else None,
        default_roles=tuple(config.get("default_roles") or ()), trust_email=bool(config.get("trust_email")),
        upstream_logout=bool(config.get("upstream_logout")), disabled=row.disabled, preset=config.get("preset"),
        clients=tuple(config.get("clients") or ()),
    )


def checked_secret(secret: str) -> str:
    return _required_text(secret, SECRET_LENGTH, "client_secret", "Client secret")


def _required_text(value: Any, max_length: int, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} is required.", field=field)
    return text.checked(value.strip(), max_length, field=field, what=what)


def _url(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a URL.", field=field)
    text.checked(value, URL_LENGTH, field=field, what=field)
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    # An upstream reached over plain http could be impersonated: https, except on this machine (tests, dev).
    if (parts.scheme != "https" and not (parts.scheme == "http" and loopback)) or not parts.hostname \
            or parts.fragment or parts.username:
        raise InvalidInput(f"{field} must be an https URL (http only on loopback), without fragment or user.",
                           field=field)
    return value.rstrip("/") if field == "issuer" else value


def _scopes(value: Any, kind: str) -> list[str]:
    scopes = list(value) if isinstance(value, list | tuple) else (value.split() if isinstance(value, str) else [])
    if not scopes:
        scopes = ["openid", "email", "profile"] if kind == "oidc" else []
    for scope in scopes:
        if not isinstance(scope, str) or not _SCOPE.match(scope):
            raise InvalidInput("Each scope must be 1–200 visible ASCII characters without space, quote or backslash.",
                               field="scopes")
    if kind == "oidc" and "openid" not in scopes:
        scopes.insert(0, "openid")  # OIDC Core §3.1.2.1: without it, no ID token
    return list(dict.fromkeys(scopes))


def _claims(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInput("claims must map subject, username, email, email_verified, name to claim names.",
                           field="claims")
    unknown = [key for key in value if key not in DEFAULT_CLAIMS]
    if unknown:
        raise InvalidInput(f"claims: unknown key {unknown[0]!r}; use {', '.join(DEFAULT_CLAIMS)}.", field="claims")
    for claim in value.values():
        if not isinstance(claim, str) or not _CLAIM.match(claim):
            raise InvalidInput("A claim name is 1–100 letters, digits or _ . : / -.", field="claims")
    return dict(value)


def _role_mapping(value: Any) -> RoleMapping | None:
    if value is None:
        return None
    if isinstance(value, RoleMapping):
        return value
    if not isinstance(value, Mapping) or not isinstance(value.get("claim"), str) or not _CLAIM.match(value["claim"]):
        raise InvalidInput("roles_from needs claim (a claim name) and map (upstream value: role).", field="roles_from")
    mapping = value.get("map") or {}
    if not isinstance(mapping, Mapping):
        raise InvalidInput("roles_from.map must map upstream values to roles.", field="roles_from")
    roles: dict[str, tuple[str, ...]] = {}
    for upstream, local in mapping.items():
        text.checked(str(upstream), 200, field="roles_from", what="An upstream value")
        roles[str(upstream)] = tuple(_names([local] if isinstance(local, str) else local, "roles_from"))
    return RoleMapping(value["claim"], roles)


def _names(values: Any, field: str) -> list[str]:
    if not isinstance(values, list | tuple) or not all(isinstance(name, str) for name in values):
        raise InvalidInput(f"{field} must be a list of role names.", field=field)
    return [text.checked(name, limits.ROLE_NAME, field=field, what="A role name") for name in values]


def _client_ids(values: Any) -> list[str]:
    if not isinstance(values, list | tuple) or not all(isinstance(value, str) for value in values):
        raise InvalidInput("clients must be a list of client IDs.", field="clients")
    return [text.checked(value, limits.CLIENT_ID, field="clients", what="A client ID") for value in values]


class ProviderSecrets:
    """Client secrets sealed with the master key, each bound to its provider's alias (AES-256-GCM)."""

    def __init__(self, master: MasterKey) -> None:
        self._master = master

    def seal(self, alias: str, secret: str) -> bytes:
        return self._master.encrypt(secret.encode(), _context(alias))

    def open(self, alias: str, sealed: bytes) -> str:
        return self._master.decrypt(sealed, _context(alias)).decode()


def _context(alias: str) -> str:
    return f"identity-provider:{alias}"


class IdentityProviders:
    """Identity providers in the caller's transaction; every change audited as an admin change."""

    def __init__(self, realm: Realm, secrets: ProviderSecrets) -> None:
        self.realm = realm
        self.session = realm.session
        self.secrets = secrets

    def list(self) -> Sequence[IdentityProvider]:
        return self.session.scalars(select(IdentityProvider).order_by(IdentityProvider.alias)).all()

    def find(self, alias: str) -> IdentityProvider | None:
        return self.session.scalar(select(IdentityProvider).where(IdentityProvider.alias == alias))

    def get(self, alias: str) -> IdentityProvider:
        found = self.find(alias)
        if found is None:
            raise NotFound("identity provider", alias)
        return found

    def create(self, spec: ProviderSpec, secret: str) -> IdentityProvider:
        if self.find(spec.alias) is not None:
            raise AlreadyExists("identity provider", spec.alias)
        self._check_roles(spec)
        row = IdentityProvider(alias=spec.alias, config={}, client_secret_encrypted=None)
        self._write(row, spec, secret)
        self.session.add(row)
        self.session.flush()
        self.realm.changed("identity_provider.created", spec.alias)
        return row

    def update(self, spec: ProviderSpec, secret: str | None) -> tuple[IdentityProvider, bool]:
        """Match `spec` (and `secret`, when given); returns (row, whether anything changed)."""
        row = self.get(spec.alias)
        self._check_roles(spec)
        same_secret = secret is None or (row.client_secret_encrypted is not None
                                         and self.secrets.open(row.alias, row.client_secret_encrypted) == secret)
        if spec_from_row(row) == spec and same_secret:
            return row, False
        self._write(row, spec, None if same_secret else secret)
        self.realm.changed("identity_provider.updated", spec.alias, secret_changed=not same_secret)
        return row, True

    def set_disabled(self, alias: str, disabled: bool) -> IdentityProvider:
        row = self.get(alias)
        if row.disabled != disabled:
            row.disabled = disabled
            self.realm.changed("identity_provider.disabled" if disabled else "identity_provider.enabled", alias)
        return row

    def delete(self, alias: str) -> None:
        self.session.delete(self.get(alias))
        self.realm.changed("identity_provider.deleted", alias)

    def mark(self, alias: str, problem: str | None) -> None:
        """Remember (or clear) what the last check of this provider found wrong."""
        row = self.get(alias)
        row.problem = problem[:400] if problem else None

    def _write(self, row: IdentityProvider, spec: ProviderSpec, secret: str | None) -> None:
        row.display_name, row.type, row.issuer = spec.display_name, spec.type, spec.issuer
        row.client_id, row.disabled, row.config = spec.client_id, spec.disabled, spec.config()
        if secret is not None:
            row.client_secret_encrypted = self.secrets.seal(spec.alias, checked_secret(secret))

    def _check_roles(self, spec: ProviderSpec) -> None:
        mapped = [role for roles in (spec.roles_from.map.values() if spec.roles_from else ()) for role in roles]
        self.realm.roles.get_many([*spec.default_roles, *mapped])  # NotFound names the missing ones


