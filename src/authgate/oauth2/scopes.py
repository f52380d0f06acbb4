"""Scope and audience: what a token request asks for, and what it is granted.

The `scope` parameter (RFC 6749 §3.3) mixes two kinds of names: the OpenID
Connect scopes this server knows (`openid profile email offline_access`) and
permission names of the target API (`get:drinks`). The audience comes from
`audience` (Auth0's parameter), `resource` (RFC 8707) or the client's
`default_audience`.

When `invalid_scope` applies (and when it does not):

- a malformed scope value (characters outside RFC 6749 §3.3 NQCHAR) → invalid_scope;
- an OIDC scope name this server does not support (`address`, `phone`) → invalid_scope;
- `offline_access` from a client that does not have `refresh_token` in its grant_types → invalid_scope;
- any OIDC scope on a grant without a user (client_credentials) → invalid_scope;
- on refresh, an OIDC scope not in the original grant (RFC 6749 §6) → invalid_scope (permission
  names beyond the original grant are left out: a refresh never widens);
- a permission name the caller does not hold (or the API does not declare) is NOT an
  error: it is left out of the token, as Auth0 does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from authgate.access.apis import RESERVED_SCOPES
from authgate.access.holdings import narrow
from authgate.oauth2.client_directory import ClientDirectory, ClientRecord
from authgate.oauth2.errors import InvalidScope, InvalidTarget
from authgate.oauth2.form import Form

OPENID = "openid"  # OIDC Core §3.1.2.1: makes an authorization request an OpenID Connect one
OFFLINE_ACCESS = "offline_access"  # OIDC Core §11
OIDC_SCOPES = (OPENID, "profile", "email", OFFLINE_ACCESS)
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token = 1*NQCHAR


@dataclass(frozen=True)
class RequestedScope:
    """A parsed `scope`: OIDC scope names, and permission names (None when no permission was named)."""

    oidc: tuple[str, ...]
    permissions: tuple[str, ...] | None

    @property
    def wants_offline_access(self) -> bool:
        return OFFLINE_ACCESS in self.oidc

    def names(self) -> list[str]:
        return [*self.oidc, *(self.permissions or ())]


def parse_scope(raw: str | None) -> RequestedScope:
    if raw is None:
        return RequestedScope((), None)
    names = list(dict.fromkeys(raw.split(" ")))
    if any(not _SCOPE_TOKEN.match(name) for name in names if name) or not any(names):
        raise InvalidScope("The scope parameter is malformed.")  # RFC 6749 §3.3
    names = [name for name in names if name]
    unsupported = [name for name in names if name in RESERVED_SCOPES and name not in OIDC_SCOPES]
    if unsupported:
        raise InvalidScope(f"Scope {unsupported[0]!r} is not supported.")
    oidc = tuple(name for name in OIDC_SCOPES if name in names)
    permissions = tuple(name for name in names if name not in OIDC_SCOPES)
    return RequestedScope(oidc, permissions or None)


def check_offline_access(requested: RequestedScope, client: ClientRecord) -> None:
    if requested.wants_offline_access and "refresh_token" not in client.grant_types:
        raise InvalidScope("offline_access needs a client allowed the refresh_token grant.")


def granted_scope(requested: RequestedScope, held: Iterable[str]) -> tuple[list[str], list[str]]:
    """(granted permissions, the `scope` value's names): held ∩ requested, OIDC scopes first."""
    permissions = narrow(held, requested.permissions)
    return permissions, [*requested.oidc, *permissions]


def resolve_audience(form: Form, client: ClientRecord, directory: ClientDirectory) -> str:
    """The one API this token is for; `invalid_target` (RFC 8707 §2) when missing, several or unknown."""
    candidates = [*form.get_all("resource"), *([form.get("audience")] if form.get("audience") else [])]
    for resource in form.get_all("resource"):
        parts = urlsplit(resource)
        if not parts.scheme or parts.fragment or "#" in resource:
            # RFC 8707 §2: an absolute URI without a fragment.
            raise InvalidTarget("The resource parameter must be an absolute URI without a fragment.")
    wanted = list(dict.fromkeys(candidates)) or ([client.default_audience] if client.default_audience else [])
    if not wanted:
        raise InvalidTarget("No audience: pass audience or resource, or give the client a default_audience.")
    if len(wanted) > 1:
        raise InvalidTarget("Tokens are issued for one audience at a time.")
    audience = wanted[0]
    if audience not in directory.get_audiences():
        raise InvalidTarget(f"Unknown audience {audience!r}.")
    return audience


def requested_target(form: Form) -> str | None:
    """The audience a token request names (`resource`, RFC 8707 §2.2, or `audience`); None if it names none."""
    wanted = list(dict.fromkeys([*form.get_all("resource"), *filter(None, [form.get("audience")])]))
    if len(wanted) > 1:
        raise InvalidTarget("Tokens are issued for one audience at a time.")
    return wanted[0] if wanted else None


def join(names: Sequence[str]) -> str:
    return " ".join(names)


def split(value: str | None) -> list[str]:
    return [name for name in (value or "").split(" ") if name]
