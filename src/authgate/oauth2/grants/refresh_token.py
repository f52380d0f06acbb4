"""The refresh token grant (RFC 6749 §6), with rotation and reuse detection (see oauth2/refresh_tokens.py).

- bound to the client: another client's token is `invalid_grant`;
- scope may only narrow (RFC 6749 §6): an OIDC scope not originally granted → `invalid_scope`;
  permission names beyond the original grant are left out (never widened);
- `audience`/`resource`, if sent, must name the original audience (RFC 8707 §2) → `invalid_target`;
- a disabled or deleted user → `invalid_grant`;
- permissions are recomputed from the user's roles now (a removed role takes effect at the next
  refresh), limited to the permissions originally granted;
- an ID token is added when an `id_tokens` issuer is wired in (OIDC Core §12.2) and `openid` was granted.

One path on every database: one transaction in which `RefreshTokens.rotate` reads the presented
token locked, applies its rules and this grant's refusals (`_check`, before anything is written) and
records the rotation; the tokens are signed after the commit. A reused token revokes its family in a
transaction of its own (the refresh's rolled back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from sqlalchemy.orm import Session

from authgate.access.holdings import Holder, narrow
from authgate.oauth2 import scopes, strength
from authgate.oauth2.errors import InvalidGrant, InvalidScope, InvalidTarget
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.refresh_tokens import RefreshGrant, RefreshTokenReused, RefreshTokens, Rotation
from authgate.oauth2.token_response import TokenResponse
from authgate.storage.models import User
from authgate.subjects import client_subject

if TYPE_CHECKING:
    from authgate.metrics import Metrics
    from authgate.oauth2.access_tokens import AccessTokens
    from authgate.storage.database import Database


class IdTokenIssuer(Protocol):
    """Wired in by the OIDC package: an ID token for a refresh, or None."""

    def __call__(self, user: User, grant: RefreshGrant, access_token: str) -> str | None: ...


class RefreshTokenGrant:
    grant_type: ClassVar[str] = "refresh_token"
    confidential_only: ClassVar[bool] = False
    uses_storage: ClassVar[bool] = True

    def __init__(
        self, *, refresh_tokens: RefreshTokens, database: Database, access_tokens: AccessTokens, metrics: Metrics,
        id_tokens: IdTokenIssuer | None = None,
    ) -> None:
        self.refresh_tokens = refresh_tokens
        self.database = database
        self.access_tokens = access_tokens
        self.metrics = metrics
        self.id_tokens = id_tokens

    def handle(self, request: TokenRequest) -> TokenResponse:
        presented = request.form.require("refresh_token")
        requested = scopes.parse_scope(request.form.get("scope"))
        target = scopes.requested_target(request.form)
        try:
            with self.database.transaction() as session:
                rotation = self.refresh_tokens.rotate(
                    session, presented, client_id=request.client.client_id,
                    before_rotation=lambda grant, holder: _check(grant, holder, requested, target),
                )
                scope = _scope(rotation.grant, requested)
                user = _id_token_user(session, rotation) if self._issues_id_token(rotation, scope) else None
        except RefreshTokenReused as reuse:
            self.metrics.refresh_reused()
            self.refresh_tokens.revoke_family_after_reuse(
                self.database, reuse, ip=request.ip, subject=self._username(reuse.user_id))
            raise InvalidGrant("The refresh token is invalid.",
                               debug="rotated refresh token reused; family revoked") from None
        # Signed after the commit: signing may read keys, and a transaction must never wait for a
        # second connection. Should signing fail now, a retry of the same token recovers (grace).
        permissions = _permissions(request, rotation, requested)
        return self._respond(rotation, scope, permissions, user)

    def _issues_id_token(self, rotation: Rotation, scope: tuple[str, ...]) -> bool:
        """OIDC Core §12.2: for a user's refresh that keeps `openid`, when an issuer is wired in."""
        return self.id_tokens is not None and rotation.holder is not None and "openid" in scope

    def _respond(self, rotation: Rotation, scope: tuple[str, ...], permissions: list[str],
                 user: User | None) -> TokenResponse:
        grant, holder = rotation.grant, rotation.holder
        subject, name = ((holder.subject, holder.username) if holder is not None
                         else (client_subject(grant.client_id), grant.client_id))
        oidc = [n for n in scope if n in scopes.OIDC_SCOPES]
        granted = [*oidc, *permissions]
        auth_time = int(grant.auth_time.timestamp()) if grant.auth_time else None
        access = self.access_tokens.issue(
            subject=subject, client_id=grant.client_id, audience=grant.audience or "", scope=granted,
            permissions=permissions, auth_time=auth_time, extra=strength.claims_of(grant.amr),
        )
        id_token = None
        if self.id_tokens is not None and user is not None:
            id_token = self.id_tokens(user, grant, access.token)
        detail = {"refresh": "grace_retry"} if rotation.grace else {}
        return TokenResponse(access, scope=granted, refresh_token=rotation.token, id_token=id_token,
                             subject_name=name, audit_detail=detail)

    def _username(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        with self.database.reader() as session:
            user = session.get(User, user_id)
            return user.username if user is not None else None


def _id_token_user(session: Session, rotation: Rotation) -> User:
    """The whole user, for the ID token's claims; loaded only when one will be issued."""
    assert rotation.holder is not None
    user = session.get(User, rotation.holder.user_id)
    if user is None:
        raise InvalidGrant("The refresh token is invalid.", debug="user deleted during the refresh")
    return user


def _check(grant: RefreshGrant, holder: Holder | None, requested: scopes.RequestedScope, target: str | None) -> None:
    """Refuse before anything is rotated: scope wider than granted, another audience, a user gone or disabled."""
    # RFC 6749 §6: never wider than the original grant. Permission names beyond it are left out
    # (as at the first request); an OIDC scope that was not granted is refused.
    extra = [name for name in requested.oidc if name not in grant.scope]
    if extra:
        raise InvalidScope(f"Scope {extra[0]!r} was not granted originally.")
    if target is not None and target != grant.audience:
        raise InvalidTarget("A refresh token keeps the audience it was issued for.")  # RFC 8707 §2
    if grant.user_id is not None and (holder is None or holder.disabled):
        raise InvalidGrant("The refresh token is invalid.", debug="user deleted or disabled")


def _scope(grant: RefreshGrant, requested: scopes.RequestedScope) -> tuple[str, ...]:
    """The scope asked for now, or the original one when none was asked for (RFC 6749 §6)."""
    names = requested.names()
    return tuple(names) if names else grant.scope


def _permissions(request: TokenRequest, rotation: Rotation, requested: scopes.RequestedScope) -> list[str]:
    """What the user's roles (or the client) hold now, within what was originally granted and what is asked."""
    grant, audience = rotation.grant, rotation.grant.audience or ""
    if rotation.holder is not None:
        held = list(rotation.holder.permissions) if audience else []
    else:
        held = list(request.client.client.permissions_for(audience))
    originally = [n for n in grant.scope if n not in scopes.OIDC_SCOPES]
    return narrow(narrow(held, originally), requested.permissions)
