"""The refresh token grant (RFC 6749 §6), with rotation and reuse detection (see oauth2/refresh_tokens.py).

- bound to the client: another client's token is `invalid_grant`;
- scope may only narrow (RFC 6749 §6): an OIDC scope not originally granted → `invalid_scope`;
  permission names beyond the original grant are left out (never widened);
- `audience`/`resource`, if sent, must name the original audience (RFC 8707 §2) → `invalid_target`;
- a disabled or deleted user → `invalid_grant`;
- permissions are recomputed from the user's roles now (a removed role takes effect at the next
  refresh), limited to the permissions originally granted;
- an ID token is added when an `id_tokens` issuer is wired in (OIDC Core §12.2) and `openid` was granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from sqlalchemy.orm import Session

from authgate.access.holdings import narrow, user_permissions
from authgate.oauth2 import scopes
from authgate.oauth2.errors import InvalidGrant, InvalidScope, InvalidTarget
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.refresh_tokens import RefreshGrant, RefreshTokenReused
from authgate.oauth2.token_response import TokenResponse
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services


class IdTokenIssuer(Protocol):
    """Wired in by the OIDC package: an ID token for a refresh, or None."""

    def __call__(self, services: Services, user: User, grant: RefreshGrant, access_token: str) -> str | None: ...


@dataclass
class _Checked:
    """What `before_rotation` learned, for issuing after the rotation."""

    user: User | None = None
    scope: tuple[str, ...] = ()
    requested_permissions: tuple[str, ...] | None = None
    grant: RefreshGrant | None = None


class RefreshTokenGrant:
    grant_type: ClassVar[str] = "refresh_token"
    confidential_only: ClassVar[bool] = False

    def __init__(self, id_tokens: IdTokenIssuer | None = None) -> None:
        self.id_tokens = id_tokens

    def handle(self, request: TokenRequest) -> TokenResponse:
        presented = request.form.require("refresh_token")
        requested = scopes.parse_scope(request.form.get("scope"))
        target = _requested_target(request)
        services = request.services
        store = services.oauth2.refresh_tokens
        try:
            with services.database.transaction() as session:
                checked = _Checked()
                rotation = store.rotate(
                    session, presented, client_id=request.client.client_id,
                    before_rotation=lambda grant: _check(session, grant, requested, target, checked),
                )
                permissions = self._permissions(session, request, checked)
        except RefreshTokenReused as reuse:
            store.revoke_family_after_reuse(services.database, reuse, ip=request.ip, subject=_username(services, reuse.user_id))
            raise InvalidGrant("The refresh token is invalid.", debug="rotated refresh token reused; family revoked") from None
        # Signed after the commit: signing may read keys, and a transaction must never wait for a
        # second connection. Should signing fail now, a retry within the grace window recovers.
        return self._respond(services, rotation.token, checked, permissions, grace=rotation.grace)

    @staticmethod
    def _permissions(session: Session, request: TokenRequest, checked: _Checked) -> list[str]:
        grant, user = checked.grant, checked.user
        assert grant is not None
        audience = grant.audience or ""
        if user is not None:
            held = user_permissions(session, user.id, audience) if audience else []
        else:
            held = list(request.client.client.permissions_for(audience))
        originally = [n for n in grant.scope if n not in scopes.OIDC_SCOPES]
        return narrow(narrow(held, originally), checked.requested_permissions)

    def _respond(self, services: Services, refresh_token: str, checked: _Checked, permissions: list[str],
                 *, grace: bool) -> TokenResponse:
        grant, user = checked.grant, checked.user
        assert grant is not None
        subject, name = (str(user.id), user.username) if user is not None else (grant.client_id, grant.client_id)
        oidc = [n for n in checked.scope if n in scopes.OIDC_SCOPES]
        scope = [*oidc, *permissions]
        auth_time = int(grant.auth_time.timestamp()) if grant.auth_time else None
        access = services.access_tokens.issue(
            subject=subject, client_id=grant.client_id, audience=grant.audience or "", scope=scope,
            permissions=permissions, auth_time=auth_time,
        )
        id_token = None
        if self.id_tokens is not None and user is not None and "openid" in oidc:
            id_token = self.id_tokens(services, user, grant, access.token)
        detail = {"refresh": "grace_retry"} if grace else {}
        return TokenResponse(access, scope=scope, refresh_token=refresh_token, id_token=id_token,
                             subject_name=name, audit_detail=detail)


def _requested_target(request: TokenRequest) -> str | None:
    wanted = list(dict.fromkeys([*request.form.get_all("resource"), *filter(None, [request.form.get("audience")])]))
    if len(wanted) > 1:
        raise InvalidTarget("Tokens are issued for one audience at a time.")
    return wanted[0] if wanted else None


def _check(session: Session, grant: RefreshGrant, requested: scopes.RequestedScope, target: str | None, checked: _Checked) -> None:
    """Refuse before anything is rotated: scope wider than granted, another audience, a user gone or disabled."""
    # RFC 6749 §6: never wider than the original grant. Permission names beyond it are left out
    # (as at the first request); an OIDC scope that was not granted is refused.
    extra = [name for name in requested.oidc if name not in grant.scope]
    if extra:
        raise InvalidScope(f"Scope {extra[0]!r} was not granted originally.")
    if target is not None and target != grant.audience:
        raise InvalidTarget("A refresh token keeps the audience it was issued for.")  # RFC 8707 §2
    user = None
    if grant.user_id is not None:
        user = session.get(User, grant.user_id)
        if user is None or user.disabled:
            raise InvalidGrant("The refresh token is invalid.", debug="user deleted or disabled")
    checked.user = user
    checked.grant = grant
    checked.scope = tuple(requested.names()) if requested.names() else grant.scope
    checked.requested_permissions = requested.permissions


def _username(services: Services, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    with services.database.reader() as session:
        user = session.get(User, user_id)
        return user.username if user is not None else None
