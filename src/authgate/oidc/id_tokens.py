"""ID tokens (OIDC Core §2, §3.1.3.6–7): issued by the code and refresh grants, read back as hints.

Always RS256: the one algorithm every relying party must support (OIDC Core
§15.1); the KeyStore keeps an RS256 key for exactly this.

Profile and email claims go into the ID token as well as userinfo, per the
granted scope (OIDC Core §5.4 allows either; one round-trip less for RPs).
`amr` and `acr` say how the user authenticated in the login the token comes
from (oauth2/strength.py): the same in a refreshed ID token.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authgate.oauth2 import jws, strength
from authgate.oauth2.authorization_codes import CodeGrant
from authgate.oauth2.keys import ID_TOKEN_ALGORITHM
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oidc.claims import OIDC_SCOPES, user_claims
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services

# A login recorded before methods were (no amr): a password, the only way there was (RFC 8176 §2 "pwd").
LEGACY_AMR = ("pwd",)


@dataclass(frozen=True)
class IdTokenRequest:
    """What the ID token says beyond the user: who asked, how the user logged in, what was granted."""

    client_id: str
    scope: tuple[str, ...]
    auth_time: int | None
    nonce: str | None = None
    sid: str | None = None
    amr: tuple[str, ...] = LEGACY_AMR  # RFC 8176 methods of the login


class IdTokenHintInvalid(Exception):
    """Not an ID token this server issued (signature, issuer or type). Safe to log."""


def left_half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash (and c_hash): base64url of the left half of SHA-256 (RS256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def issue(services: Services, user: User, request: IdTokenRequest, *, access_token: str | None = None) -> str:
    """OIDC Core §2: iss sub aud exp iat, auth_time, nonce (echoed exactly), azp, at_hash, sid, acr."""
    now = int(time.time())
    claims: dict[str, Any] = user_claims(user, request.scope)
    claims.update(
        iss=services.settings.issuer, aud=request.client_id, azp=request.client_id,
        iat=now, exp=now + services.settings.id_token_ttl, **strength.claims_of(request.amr or LEGACY_AMR),
    )
    if request.auth_time is not None:
        claims["auth_time"] = request.auth_time  # OIDC Core §3.1.2.1 (max_age) and §2
    if request.nonce is not None:
        claims["nonce"] = request.nonce  # OIDC Core §3.1.3.7 item 11
    if request.sid is not None:
        claims["sid"] = request.sid
    if access_token is not None:
        claims["at_hash"] = left_half_hash(access_token)
    key = services.keys.signing_key(ID_TOKEN_ALGORITHM)
    return jws.sign(claims, key, typ="JWT")


def for_code(services: Services, user: User, grant: CodeGrant, access_token: str) -> str:
    """OIDC Core §3.1.3.3: the ID token of a code exchange, with the login's nonce, sid and methods."""
    scope = tuple(name for name in OIDC_SCOPES if name in grant.scope)
    return issue(services, user, IdTokenRequest(
        client_id=grant.client_id, scope=scope, auth_time=int(grant.auth_time.timestamp()), nonce=grant.nonce,
        sid=grant.session_id, amr=grant.amr or LEGACY_AMR,
    ), access_token=access_token)


def for_refresh(services: Services, user: User, grant: RefreshGrant, access_token: str) -> str:
    """OIDC Core §12.2: a refreshed ID token, same iss/sub/aud/auth_time/sid, no nonce."""
    auth_time = int(grant.auth_time.timestamp()) if grant.auth_time else None
    scope = tuple(name for name in grant.scope if name in OIDC_SCOPES)
    return issue(services, user, IdTokenRequest(grant.client_id, scope, auth_time, sid=grant.session_id,
                                                amr=grant.amr or LEGACY_AMR),
                 access_token=access_token)


def read_hint(services: Services, token: str) -> dict[str, Any]:
    """Claims of an ID token we issued, expired or not (OIDC RP-Initiated Logout §2; Core §3.1.2.1)."""
    try:
        return jws.verify(services.keys, token, issuer=services.settings.issuer, access_token=False,
                          require=("iss", "sub", "aud"), algorithm=ID_TOKEN_ALGORITHM, verify_exp=False,
                          max_bytes=16384, leeway=0)
    except jws.OwnTokenInvalid as error:
        raise IdTokenHintInvalid(str(error)) from None


def audiences(claims: dict[str, Any]) -> Iterable[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [str(a) for a in aud or []]
