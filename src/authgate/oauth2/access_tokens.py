"""JWT access tokens per RFC 9068, plus the `permissions` claim; and their verification here.

Every grant issues through `AccessTokens.issue`; introspection, userinfo and
the admin API verify through `AccessTokens.verify` (the one verifier of our
own tokens, `jws.verify`), which also honours revocation through the one
revocation check, `RevocationList.contains` (RFC 7009: a revoked token's `jti`
is recorded until it expires).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from authgate.clock import utcnow
from authgate.oauth2 import jws
from authgate.oauth2.token_ids import new_token_id

if TYPE_CHECKING:
    from authgate.services import Services

TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]
    expires_in: int


class AccessTokenInvalid(Exception):
    """The token is not one of ours, or is expired or revoked. The message is safe to log."""


class AccessTokens:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    def issue(
        self,
        *,
        subject: str,
        client_id: str,
        audience: str | Sequence[str],
        scope: Sequence[str] = (),
        permissions: Sequence[str] | None = None,
        auth_time: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> IssuedToken:
        """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; scope when any; auth_time when known."""
        now = int(time.time())
        ttl = self.settings.access_token_ttl
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": subject,
            "aud": audience if isinstance(audience, str) else list(audience),
            "exp": now + ttl,
            "iat": now,
            "jti": new_token_id(),
            "client_id": client_id,
        }
        if scope:
            claims["scope"] = " ".join(scope)
        if permissions is not None:
            claims["permissions"] = list(permissions)
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if extra:
            claims.update(extra)
        key = self.services.keys.signing_key()
        token = jws.sign(claims, key, typ=TOKEN_TYPE)
        return IssuedToken(token, claims, ttl)

    def verify(self, token: str, *, audience: str | None = None, check_revoked: bool = True) -> dict[str, Any]:
        """Claims of a token this server issued and has not revoked; raises AccessTokenInvalid otherwise."""
        try:
            claims = jws.verify(self.services.keys, token, issuer=self.settings.issuer, access_token=True,
                                require=("iss", "sub", "exp", "iat", "jti", "client_id"), audience=audience)
        except jws.OwnTokenInvalid as error:
            raise AccessTokenInvalid(str(error)) from None
        if check_revoked and self.services.oauth2.revocations.contains(str(claims["jti"])):
            raise AccessTokenInvalid("revoked")
        return claims

    def revoke(self, claims: dict[str, Any]) -> None:
        """Record the jti until the token would have expired anyway; this process's revocation list knows at once."""
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        revocations = self.services.oauth2.revocations
        with self.services.database.transaction() as session:
            revocations.storage.add(session, str(claims["jti"]), expires_at=expires, revoked_at=utcnow())
        revocations.revoked(claims)
