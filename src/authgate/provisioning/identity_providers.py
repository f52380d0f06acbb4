"""The realm file's `identity_providers:` section: its entries, applying them, and exporting them.

    identity_providers:
      - alias: corp
        type: oidc
        issuer: https://login.corp.example
        client_id: authgate
        client_secret: ${CORP_OIDC_SECRET}     # or client_secret_env: CORP_OIDC_SECRET
        roles_from: {claim: groups, map: {engineering: developer}}
        default_roles: [staff]

The secret may be written in the file, or named as an environment variable
(`client_secret_env: NAME`, or `client_secret: ${NAME}`) so it never lives
in the file. A new provider without a secret, or a variable that is not set,
is an error naming the entry; an existing provider given no secret keeps its
own (so an export without secrets applies back unchanged).
`export_identity_providers` gives back entries of exactly this shape (the
secret only when asked), for `authgate export`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from authgate.federation.providers import DEFAULT_CLAIMS, ProviderSecrets, build_spec, spec_from_row
from authgate.storage.models import IdentityProvider

_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]{0,100})\}$")


class RolesFromEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim: str
    map: dict[str, str | list[str]] = Field(default_factory=dict)


class IdentityProviderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str
    display_name: str | None = None
    preset: Literal["google", "microsoft", "github", "gitlab"] | None = None
    type: Literal["oidc", "oauth2"] | None = None
    issuer: str | None = None
    client_id: str
    client_secret: str | None = Field(default=None, repr=False)
    client_secret_env: str | None = None
    scopes: list[str] | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    claims: dict[str, str] | None = None
    roles_from: RolesFromEntry | None = None
    default_roles: list[str] = Field(default_factory=list)
    trust_email: bool = False
    upstream_logout: bool = False
    clients: list[str] = Field(default_factory=list)
    disabled: bool = False

    def spec_values(self) -> dict[str, Any]:
        values = self.model_dump(exclude={"client_secret", "client_secret_env"})
        values["roles_from"] = self.roles_from.model_dump() if self.roles_from else None
        return values

    def secret(self, environ: Mapping[str, str]) -> str | None:
        """The client secret, from the file or the environment (None: not given, keep the stored one);
        MissingSecret when it names an environment variable that is not set."""
        name = self.client_secret_env
        reference = _REFERENCE.match(self.client_secret or "")
        if reference:
            name = reference.group(1)
        if name is not None:
            value = environ.get(name)
            if not value:
                raise MissingSecret(f"client_secret: the environment variable {name} is not set")
            return value
        return self.client_secret or None


class MissingSecret(Exception):
    pass


def export_identity_providers(session: Session, *, include_secrets: bool = False,
                              secrets: ProviderSecrets | None = None) -> list[dict[str, Any]]:
    """Every identity provider as a realm-file entry (`apply` takes them back unchanged).

    The client secret is left out unless `include_secrets` (which needs `secrets`, the sealer).
    """
    entries = []
    for row in session.scalars(select(IdentityProvider).order_by(IdentityProvider.alias)):
        spec = spec_from_row(row)
        entry: dict[str, Any] = {"alias": spec.alias, "display_name": spec.display_name, "type": spec.type}
        if spec.preset:
            entry["preset"] = spec.preset
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
            if getattr(spec, key) is not None:
                entry[key] = getattr(spec, key)
        entry["client_id"] = spec.client_id
        if include_secrets and row.client_secret_encrypted is not None:
            assert secrets is not None, "exporting secrets needs the master key"
            entry["client_secret"] = secrets.open(row.alias, row.client_secret_encrypted)
        entry["scopes"] = list(spec.scopes)
        claims = {key: value for key, value in spec.claims.items() if DEFAULT_CLAIMS.get(key) != value}
        if claims:
            entry["claims"] = claims
        if spec.roles_from is not None:
            entry["roles_from"] = {"claim": spec.roles_from.claim,
                                   "map": {key: list(value) for key, value in spec.roles_from.map.items()}}
        entry.update({"default_roles": list(spec.default_roles), "trust_email": spec.trust_email,
                      "upstream_logout": spec.upstream_logout, "clients": list(spec.clients),
                      "disabled": spec.disabled})
        entries.append(entry)
    return entries


__all__ = ["IdentityProviderEntry", "MissingSecret", "build_spec", "export_identity_providers"]
