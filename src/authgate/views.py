"""How users, roles, APIs, clients and audit events look to the outside (CLI --json, admin API).

One definition for both, so the CLI and the admin API can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from authgate.access.apis import grants_of
from authgate.accounts.factors import Factor
from authgate.clock import aware, utcnow
from authgate.storage.models import Api, AuditEvent, BrowserSession, Client, Role, SigningKey, User

# SQLite returns naive datetimes; they are UTC.
UtcDatetime = Annotated[datetime, AfterValidator(aware)]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class FactorView(View):
    """One of a user's sign-in factors (accounts/factors.py); never a secret."""

    kind: str
    id: str
    name: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    second_factor: bool
    detail: str | None

    @classmethod
    def of(cls, factor: Factor) -> FactorView:
        return cls(kind=factor.kind, id=factor.id, name=factor.name, created_at=factor.created_at,
                   last_used_at=factor.last_used_at, second_factor=factor.second_factor, detail=factor.detail)


class UserView(View):
    id: int
    subject: str  # the `sub` of the user's tokens
    username: str
    email: str | None
    email_verified: bool
    name: str | None
    disabled: bool
    roles: list[str]
    created_at: UtcDatetime
    last_login_at: UtcDatetime | None
    has_password: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id, subject=user.subject, username=user.username, email=user.email,
            email_verified=user.email_verified,
            name=user.name, disabled=user.disabled, roles=sorted(r.name for r in user.roles),
            created_at=user.created_at, last_login_at=user.last_login_at, has_password=bool(user.password_hash),
        )


class PermissionView(View):
    name: str
    description: str | None


class ApiView(View):
    identifier: str
    name: str
    permissions: list[PermissionView]

    @classmethod
    def of(cls, api: Api) -> ApiView:
        return cls(
            identifier=api.identifier, name=api.name,
            permissions=[PermissionView(name=p.name, description=p.description) for p in api.permissions],
        )


class RoleView(View):
    name: str
    description: str | None
    permissions: dict[str, list[str]]
    # Holders sign in with a second factor; null: the default (only `admin`, once one admin has a factor).
    require_mfa: bool | None = None

    @classmethod
    def of(cls, role: Role) -> RoleView:
        return cls(name=role.name, description=role.description, permissions=grants_of(role.permissions),
                   require_mfa=role.require_mfa)


class ClientView(View):
    client_id: str
    name: str | None
    type: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    web_origins: list[str]
    grant_types: list[str]
    first_party: bool
    default_audience: str | None
    permissions: dict[str, list[str]]
    disabled: bool
    created_at: UtcDatetime
    # Registered itself (RFC 7591); removed once unused for AUTHGATE_DYNAMIC_CLIENT_MAX_IDLE.
    dynamic: bool = False
    last_used_at: UtcDatetime | None = None

    @classmethod
    def of(cls, client: Client) -> ClientView:
        return cls(
            client_id=client.client_id, name=client.name, type=client.type,
            redirect_uris=list(client.redirect_uris), post_logout_redirect_uris=list(client.post_logout_redirect_uris),
            web_origins=list(client.web_origins), grant_types=list(client.grant_types), first_party=client.first_party,
            default_audience=client.default_audience, permissions=grants_of(client.permissions),
            disabled=client.disabled, created_at=client.created_at,
            dynamic=bool(client.dynamic), last_used_at=client.last_used_at,
        )


class AuditEventView(View):
    id: int
    at: UtcDatetime
    type: str
    actor: str | None
    subject: str | None
    client_id: str | None
    ip: str | None
    outcome: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventView:
        return cls(
            id=event.id, at=event.at, type=event.type, actor=event.actor, subject=event.subject,
            client_id=event.client_id, ip=event.ip, outcome=event.outcome, detail=dict(event.detail or {}),
        )


class SigningKeyView(View):
    kid: str
    alg: str
    state: str  # "signing", "published" (retired, still in the JWKS) or "expired"
    created_at: UtcDatetime
    retired_at: UtcDatetime | None
    unpublish_at: UtcDatetime | None

    @classmethod
    def of(cls, key: SigningKey) -> SigningKeyView:
        if key.retired_at is None:
            state = "signing"
        elif key.unpublish_at is not None and aware(key.unpublish_at) <= utcnow():
            state = "expired"
        else:
            state = "published"
        return cls(kid=key.kid, alg=key.alg, state=state, created_at=key.created_at,
                   retired_at=key.retired_at, unpublish_at=key.unpublish_at)


class BrowserSessionView(View):
    """A hosted-pages login session; `sid` is its public id (never the cookie value)."""

    sid: str
    auth_time: UtcDatetime
    created_at: UtcDatetime
    last_seen_at: UtcDatetime
    expires_at: UtcDatetime
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, session: BrowserSession) -> BrowserSessionView:
        return cls(sid=session.sid, auth_time=session.auth_time, created_at=session.created_at,
                   last_seen_at=session.last_seen_at, expires_at=session.expires_at, ip=session.ip,
                   user_agent=session.user_agent)


class ConsentView(View):
    client_id: str
    client_name: str
    scope: list[str]
    updated_at: UtcDatetime
