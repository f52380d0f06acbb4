"""Where a page may send the browser next: only back into this server, never elsewhere.

`return_to` travels through the login, consent and registration forms; an
open redirect here would let anyone bounce a person off our login page to
any site, so it must be a path on this server among the ones that resume
something (an authorization request, an account page).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from authgate import text
from authgate.storage import limits

ALLOWED_PREFIXES = ("/authorize?", "/account", "/admin")
DEFAULT = "/account"
MAX_LENGTH = 8000


def safe_return_to(value: str | None) -> str:
    if not value or len(value) > MAX_LENGTH or not text.is_acceptable(value):
        return DEFAULT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT
    if not any(value == prefix.rstrip("?") or value.startswith(prefix) for prefix in ALLOWED_PREFIXES):
        return DEFAULT
    return value


def authorize_params(return_to: str) -> dict[str, list[str]] | None:
    """The authorization request a return_to resumes, or None when it resumes something else."""
    if not return_to.startswith("/authorize?"):
        return None
    return parse_qs(urlsplit(return_to).query, keep_blank_values=True)


def client_id_of(return_to: str) -> str | None:
    """The client the resumed request names, when it could name one (it is shown and audited)."""
    params = authorize_params(return_to)
    values = params.get("client_id") if params else None
    if not values:
        return None
    client_id = values[0]
    fits = text.is_acceptable(client_id) and limits.is_storable(client_id, limits.CLIENT_ID)
    return client_id if fits else None


def idp_hint_of(return_to: str) -> str | None:
    """The identity provider the resumed request asks to go straight to (`kc_idp_hint`, `idp_hint`)."""
    params = authorize_params(return_to) or {}
    for name in ("kc_idp_hint", "idp_hint"):
        values = params.get(name)
        if values and values[0] and len(values[0]) <= 64 and text.is_acceptable(values[0]):
            return values[0]
    return None


def with_return_to(path: str, return_to: str, **extra: str) -> str:
    query = {"return_to": return_to, **{k: v for k, v in extra.items() if v}}
    return f"{path}?{urlencode(query)}"
