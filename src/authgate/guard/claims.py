"""The verified claims handed to a view: typed, read-only, and a Mapping."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from authgate.guard.errors import InvalidToken

_SCALARS = (str, int, float, bool, type(None))
_NO_STRINGS: frozenset[str] = frozenset()


def _freeze(value: Any) -> Any:
    # Claims objects are shared between requests through the claims cache,
    # so nothing reachable from them may be mutable. Scalars, the bulk of a
    # payload, are kept as they are (this runs once per fresh token).
    if type(value) in _SCALARS:
        return value
    if isinstance(value, dict):
        return MappingProxyType({
            key: item if type(item) in _SCALARS else _freeze(item) for key, item in value.items()
        })
    if isinstance(value, list):
        return tuple([item if type(item) in _SCALARS else _freeze(item) for item in value])
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def _string_list(payload: Mapping[str, Any], name: str, *, spaced: bool) -> frozenset[str]:
    value = payload.get(name)
    if value is None:
        return _NO_STRINGS
    if spaced and type(value) is str:
        # RFC 9068 §2.2.3 / RFC 8693 §4.2: "scope" is space-separated; some
        # issuers (Azure AD) also send "scp" that way.
        return frozenset(value.split())
    if type(value) is list and all(type(item) is str for item in value):
        return frozenset(value)
    expected = "a string or an array of strings" if spaced else "an array of strings"
    raise InvalidToken(f"{name} claim must be {expected}")


@dataclass(frozen=True, slots=True, eq=False)
class Claims(Mapping[str, Any]):
    """What a verified access token says about the caller.

    The typed attributes cover what a view usually needs; every claim,
    including issuer-specific ones, is reachable as ``claims["name"]``.
    """

    #: The subject: a user id, or the client for client_credentials tokens.
    sub: str | None
    #: The client the token was issued to (RFC 9068 §2.2, else ``azp``).
    client_id: str | None
    #: From the ``permissions`` claim (an array), as authgate and Auth0 issue it.
    permissions: frozenset[str]
    #: From ``scope`` (space-separated, RFC 9068 §2.2.3) or ``scp``.
    scopes: frozenset[str]
    #: ``exp`` as seconds since the epoch.
    expires_at: float
    #: Every claim of the token, read-only (arrays become tuples).
    raw: Mapping[str, Any]
    #: Everything the caller may do: ``permissions`` and ``scopes`` together.
    granted: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "granted", self.permissions | self.scopes)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Claims:
        """Build from a verified payload; refuses malformed permission claims."""
        permissions = _string_list(payload, "permissions", spaced=False)
        scopes = _string_list(payload, "scope", spaced=True)
        if "scp" in payload:
            scopes |= _string_list(payload, "scp", spaced=True)
        sub = payload.get("sub")
        client_id = payload.get("client_id", payload.get("azp"))
        if not isinstance(sub, (str, type(None))) or not isinstance(client_id, (str, type(None))):
            raise InvalidToken("sub and client_id must be strings")
        return cls(
            sub=sub,
            client_id=client_id,
            permissions=permissions,
            scopes=scopes,
            expires_at=float(payload["exp"]) if "exp" in payload else math.inf,
            raw=_freeze(payload),
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable, JSON-serialisable copy of every claim."""
        result: dict[str, Any] = _thaw(self.raw)
        return result

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        granted = sorted(self.granted)
        return f"Claims(sub={self.sub!r}, client_id={self.client_id!r}, granted={granted!r})"
