"""Authorization codes (RFC 6749 §4.1.2): short-lived, single-use, bound to client, redirect URI and PKCE.

Stored as SHA-256 digests. The contract: `redeem` succeeds at most once per
code. A second redemption fails AND revokes what the first one issued (the
refresh token family and the access token), because a replayed code means
it leaked (RFC 6749 §4.1.2, §10.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from authgate import audit, tokens
from authgate.clock import aware, utcnow
from authgate.oauth2.errors import InvalidGrant
from authgate.storage.models import AuthorizationCode, RevokedAccessToken, User

if TYPE_CHECKING:
    from authgate.services import Services


@dataclass(frozen=True)
class CodeGrant:
    """What a code stands for, as recorded at the authorization endpoint."""

    client_id: str
    user_id: int
    redirect_uri: str
    scope: tuple[str, ...]
    audience: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: datetime
    acr: str | None
    session_id: str | None
    amr: tuple[str, ...] = ()  # the session's methods (RFC 8176), for the tokens the code brings


# Used codes are kept this long after expiry so that a late replay still revokes what they issued.
KEEP_AFTER_EXPIRY = timedelta(days=1)


def issue(services: Services, grant: CodeGrant) -> str:
    code = tokens.new_opaque()
    now = utcnow()
    with services.database.transaction() as session:
        session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - KEEP_AFTER_EXPIRY))
        session.add(AuthorizationCode(
            code_hash=tokens.digest(code), client_id=grant.client_id, user_id=grant.user_id,
            redirect_uri=grant.redirect_uri, scope=" ".join(grant.scope), audience=grant.audience,
            nonce=grant.nonce, code_challenge=grant.code_challenge,
            code_challenge_method=grant.code_challenge_method, auth_time=grant.auth_time, acr=grant.acr,
            session_id=grant.session_id, amr=list(grant.amr), created_at=now,
            expires_at=now + timedelta(seconds=services.settings.authorization_code_ttl),
        ))
    return code


def claim(session: Session, code: str, *, client_id: str) -> CodeGrant | None:
    """Mark the code used, in the caller's transaction; None when it was already used.

    Raises InvalidGrant for an unknown, expired or other client's code. The
    conditional UPDATE makes two concurrent redemptions race for one row:
    exactly one sees it unused.
    """
    row = session.get(AuthorizationCode, tokens.digest(code))
    if row is None:
        raise InvalidGrant("The authorization code is invalid.")
    if row.client_id != client_id:
        raise InvalidGrant("The authorization code was issued to another client.")  # RFC 6749 §4.1.3
    if row.consumed_at is not None:
        return None
    if aware(row.expires_at) <= utcnow():
        raise InvalidGrant("The authorization code has expired.")
    claimed = session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return CodeGrant(
        row.client_id, row.user_id, row.redirect_uri, tuple(row.scope.split()), row.audience, row.nonce,
        row.code_challenge, row.code_challenge_method, aware(row.auth_time), row.acr, row.session_id,
        tuple(row.amr or ()),
    )


def record_issued(session: Session, code: str, *, family_id: str | None, access_jti: str) -> None:
    """Remember what the code produced, so a replay can take it back."""
    session.execute(
        update(AuthorizationCode).where(AuthorizationCode.code_hash == tokens.digest(code))
        .values(issued_family_id=family_id, issued_access_jti=access_jti)
    )


def revoke_replayed(services: Services, code: str, *, ip: str | None) -> None:
    """RFC 6749 §4.1.2: the code was used twice; revoke every token issued from it. Own transaction."""
    now = utcnow()
    revoked: dict[str, object] | None = None
    with services.database.transaction() as session:
        row = session.get(AuthorizationCode, tokens.digest(code))
        if row is None:
            return
        if row.issued_family_id:
            services.oauth2.refresh_tokens.revoke_family(session, row.issued_family_id)
        if row.issued_access_jti and session.get(RevokedAccessToken, row.issued_access_jti) is None:
            # The token cannot outlive its TTL from the moment the code was redeemed.
            consumed = aware(row.consumed_at) if row.consumed_at else now
            expires_at = consumed + timedelta(seconds=services.settings.access_token_ttl + 60)
            session.add(RevokedAccessToken(jti=row.issued_access_jti, revoked_at=now, expires_at=expires_at))
            revoked = {"jti": row.issued_access_jti, "exp": expires_at.timestamp()}
        user = session.get(User, row.user_id)
        audit.record(session, audit.CODE_REUSED, subject=user.username if user else str(row.user_id), client_id=row.client_id, ip=ip,
                     outcome="refused", family_id=row.issued_family_id)
    if revoked is not None:  # committed: this process's revocation check counts it at once
        services.oauth2.revocations.revoked(revoked)
