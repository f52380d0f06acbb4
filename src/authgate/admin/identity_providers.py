"""/identity-providers: the upstream providers people may sign in with (see docs/federation.md).

The client secret is written, never read back: views say `client_secret_set`.
Every change is audited (the domain's `IdentityProviders`); the rules are the
realm file's (`federation.providers.build_spec`). Managing providers needs the
clients permissions: a provider is authgate's client at another server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StringConstraints

from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import PRINTABLE, UNICODE, Body, ClientId, DisplayName, RoleName
from authgate.federation.providers import SECRET_LENGTH, URL_LENGTH, build_spec, spec_from_row
from authgate.storage.models import IdentityProvider

router = APIRouter(prefix="/identity-providers", tags=["identity providers"], route_class=AdminRoute)
READ, WRITE = requires("clients:read"), requires("clients:write")

Alias = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
AliasIn = Annotated[Alias, Path()]
Url = Annotated[str, StringConstraints(min_length=1, max_length=URL_LENGTH, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$"),
                UNICODE]
UpstreamClientId = Annotated[str, StringConstraints(min_length=1, max_length=URL_LENGTH, pattern=PRINTABLE), UNICODE]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=SECRET_LENGTH, pattern=PRINTABLE), UNICODE]
ClaimName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:/-]+$")]
UpstreamValue = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE), UNICODE]
ScopeToken = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]
ClaimKey = Literal["subject", "username", "email", "email_verified", "name"]


class RolesFrom(Body):
    claim: ClaimName
    map: Annotated[dict[UpstreamValue, Annotated[list[RoleName], Field(max_length=50)]], Field(max_length=200)]


class IdentityProviderFields(Body):
    display_name: DisplayName | None = None
    preset: Literal["google", "microsoft", "github", "gitlab"] | None = None
    type: Literal["oidc", "oauth2"] | None = None
    issuer: Url | None = None
    authorization_endpoint: Url | None = None
    token_endpoint: Url | None = None
    userinfo_endpoint: Url | None = None
    client_id: UpstreamClientId
    client_secret: Secret | None = Field(None, description="Write-only; omitted on a change: kept.")
    scopes: Annotated[list[ScopeToken], Field(max_length=50)] | None = None
    claims: dict[ClaimKey, ClaimName] | None = None
    roles_from: RolesFrom | None = None
    default_roles: Annotated[list[RoleName], Field(max_length=50)] = Field(default_factory=list)
    trust_email: bool = False
    upstream_logout: bool = False
    clients: Annotated[list[ClientId], Field(max_length=200)] = Field(default_factory=list)
    disabled: bool = False

    def spec_values(self, alias: str) -> dict[str, Any]:
        values = self.model_dump(exclude={"client_secret"})
        return {**values, "alias": alias}


class IdentityProviderCreate(IdentityProviderFields):
    alias: Alias
    client_secret: Secret = Field(description="Write-only: stored encrypted, never shown again.")


class IdentityProviderView(BaseModel):
    alias: str
    display_name: str
    type: str
    preset: str | None
    issuer: str | None
    authorization_endpoint: str | None
    token_endpoint: str | None
    userinfo_endpoint: str | None
    client_id: str
    client_secret_set: bool
    scopes: list[str]
    claims: dict[str, str]
    roles_from: dict[str, Any] | None
    default_roles: list[str]
    trust_email: bool
    upstream_logout: bool
    clients: list[str]
    disabled: bool
    problem: str | None = Field(description="What the last check of this provider found wrong (unreachable issuer).")
    redirect_uri: str = Field(description="Register this at the provider.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: IdentityProvider, redirect_uri: str) -> IdentityProviderView:
        spec = spec_from_row(row)
        roles_from: dict[str, Any] | None = None
        if spec.roles_from:
            mapped = {key: list(value) for key, value in spec.roles_from.map.items()}
            roles_from = {"claim": spec.roles_from.claim, "map": mapped}
        return cls(
            alias=row.alias, display_name=row.display_name, type=row.type, preset=spec.preset, issuer=row.issuer,
            authorization_endpoint=spec.authorization_endpoint, token_endpoint=spec.token_endpoint,
            userinfo_endpoint=spec.userinfo_endpoint, client_id=row.client_id,
            client_secret_set=row.client_secret_encrypted is not None, scopes=list(spec.scopes),
            claims=dict(spec.claims), roles_from=roles_from, default_roles=list(spec.default_roles),
            trust_email=spec.trust_email, upstream_logout=spec.upstream_logout, clients=list(spec.clients),
            disabled=row.disabled, problem=row.problem, redirect_uri=redirect_uri, created_at=row.created_at,
            updated_at=row.updated_at,
        )


def _view(admin: Admin, row: IdentityProvider) -> IdentityProviderView:
    return IdentityProviderView.of(row, admin.services.federation.redirect_uri(row.alias))


@router.get("", openapi_extra=READ, summary="List identity providers")
def list_providers(admin: Admin) -> list[IdentityProviderView]:
    with admin.reader() as realm:
        return [_view(admin, row) for row in admin.services.federation.providers(realm).list()]


@router.post("", openapi_extra=WRITE, status_code=201, responses={**NOT_FOUND, **CONFLICT},
             summary="Create an identity provider")
def create_provider(admin: Admin, body: IdentityProviderCreate) -> IdentityProviderView:
    spec = build_spec(body.spec_values(body.alias))
    with admin.realm() as realm:
        row = admin.services.federation.providers(realm).create(spec, body.client_secret)
        return _view(admin, row)


@router.get("/{alias}", openapi_extra=READ, responses=NOT_FOUND, summary="Get an identity provider")
def get_provider(admin: Admin, alias: AliasIn) -> IdentityProviderView:
    with admin.reader() as realm:
        return _view(admin, admin.services.federation.providers(realm).get(alias))


@router.put("/{alias}", openapi_extra=WRITE, responses=NOT_FOUND, summary="Change an identity provider")
def change_provider(admin: Admin, alias: AliasIn, body: IdentityProviderFields) -> IdentityProviderView:
    """The whole provider as it should be; `client_secret` omitted keeps the stored one."""
    spec = build_spec(body.spec_values(alias))
    with admin.realm() as realm:
        row, _changed = admin.services.federation.providers(realm).update(spec, body.client_secret)
        return _view(admin, row)


@router.post("/{alias}/check", openapi_extra=WRITE, responses=NOT_FOUND, summary="Check an identity provider")
def check_provider(admin: Admin, alias: AliasIn) -> IdentityProviderView:
    """Fetch its discovery document now; `problem` says what failed, or is null."""
    federation = admin.services.federation
    with admin.reader() as realm:
        federation.providers(realm).get(alias)  # 404 for an unknown one
    federation.check_and_mark([alias])
    with admin.reader() as realm:
        return _view(admin, federation.providers(realm).get(alias))


@router.delete("/{alias}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND,
               summary="Delete an identity provider")
def delete_provider(admin: Admin, alias: AliasIn) -> None:
    """Its links to users go with it; users keep their accounts."""
    with admin.realm() as realm:
        admin.services.federation.providers(realm).delete(alias)
