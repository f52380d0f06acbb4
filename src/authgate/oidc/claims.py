"""Which user claims each OpenID scope releases (OIDC Core §5.4), for userinfo and ID tokens.

`sub` is the user's subject (authgate/subjects.py): stable, unguessable and
never reassigned, unlike a username that can be renamed (OIDC Core §5.7: sub
is the only claim an RP may use as a key).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from authgate.clock import aware
from authgate.oauth2.scopes import OFFLINE_ACCESS as OFFLINE_ACCESS  # re-exported: one definition
from authgate.oauth2.scopes import OPENID as OPENID
from authgate.storage.models import User

PROFILE = "profile"
EMAIL = "email"
OIDC_SCOPES = (OPENID, PROFILE, EMAIL, OFFLINE_ACCESS)

# What a person is told each scope means, on the consent page.
SCOPE_DESCRIPTIONS = {
    OPENID: "Know who you are (your account identifier)",
    PROFILE: "See your name and username",
    EMAIL: "See your email address",
    OFFLINE_ACCESS: "Stay signed in and act for you while you are away",
}


def user_claims(user: User, scope: Iterable[str]) -> dict[str, Any]:
    """`sub` always; profile and email claims per OIDC Core §5.4 when their scope was granted."""
    granted = set(scope)
    claims: dict[str, Any] = {"sub": user.subject}
    if PROFILE in granted:
        claims["preferred_username"] = user.username
        if user.name:
            claims["name"] = user.name
        if user.updated_at is not None:
            claims["updated_at"] = int(aware(user.updated_at).timestamp())
    if EMAIL in granted and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims
