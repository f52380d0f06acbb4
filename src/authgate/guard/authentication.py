"""How the person behind a token signed in: a route's minimum ``acr``, its ``amr`` and ``max_age``.

RFC 9470 (OAuth 2.0 Step Up Authentication Challenge): a resource server that
needs a stronger or more recent sign-in than the token shows answers 401 with
``error="insufficient_user_authentication"`` and says what it needs in
``acr_values`` and ``max_age``; the client sends the person back to the
authorization server with those values and retries with the new token.

Authentication context classes (``acr``) have no order of their own: the guard
reads them in the order of ``GuardConfig.acr_values``, weakest first, and a
route's minimum accepts that value or any listed after it. ``amr`` values
(RFC 8176: ``pwd``, ``otp``, ``hwk``, ``mfa``…) are a set: every one a route
names must be in the token. ``max_age`` needs an ``auth_time`` claim no older
than that many seconds (RFC 9470 §3, OpenID Connect Core §3.1.2.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authgate.guard.errors import InsufficientUserAuthentication, InvalidToken

#: authgate's own classes, weakest first: a password alone, then a second factor.
AUTHGATE_ACR_VALUES = ("urn:authgate:acr:password", "urn:authgate:acr:mfa")


@dataclass(frozen=True, slots=True)
class AuthenticationRequirement:
    """The sign-in a route needs; empty (the default) needs nothing beyond a valid token."""

    #: The weakest acceptable class; None: any class, or none at all.
    acr: str | None = None
    #: Methods that must all appear in the token's ``amr``.
    amr: frozenset[str] = frozenset()
    #: Seconds since ``auth_time`` beyond which the sign-in is too old.
    max_age: int | None = None

    @classmethod
    def of(
        cls,
        *,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        max_age: int | None = None,
        ordered_acr_values: Sequence[str] | None = None,
    ) -> AuthenticationRequirement:
        """Build from ``requires_auth``'s arguments; a mistake is a ``ValueError`` at decoration time.

        ``acr`` is checked against ``ordered_acr_values`` here when the guard
        is known (``Guard.requirement``), else (None) on the first check.
        """
        if acr is not None and ordered_acr_values is not None:
            accepted_acr_values(acr, ordered_acr_values)
        if isinstance(amr, str):
            raise ValueError("amr is a list of methods, e.g. amr=['mfa']")
        methods = frozenset(amr or ())
        if any(not isinstance(method, str) or not method or " " in method for method in methods):
            raise ValueError(f"an amr value is a non-empty string without spaces: {sorted(map(repr, methods))}")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
            raise ValueError("max_age is a number of seconds, zero or more")
        return cls(acr=acr, amr=methods, max_age=max_age)

    def __bool__(self) -> bool:
        return bool(self.acr is not None or self.amr or self.max_age is not None)

    def check(self, claims: Mapping[str, Any], ordered_acr_values: Sequence[str], now: Callable[[], float]) -> None:
        """Raise ``InsufficientUserAuthentication`` (RFC 9470 §3) when the sign-in falls short.

        ``claims`` is the verified token's mapping of claims; a claim of the
        wrong type is an ``InvalidToken``, as malformed permission claims are.
        ``ordered_acr_values`` and ``now`` are the guard's (``GuardConfig``).
        """
        accepted = accepted_acr_values(self.acr, ordered_acr_values) if self.acr is not None else ()
        if accepted:
            acr = claims.get("acr")
            if acr is not None and not isinstance(acr, str):
                raise InvalidToken("acr claim must be a string")
            if acr not in accepted:
                raise self._refusal("a stronger authentication is required", accepted)
        if self.amr:
            methods = claims.get("amr", ())
            if not isinstance(methods, (list, tuple)) or not all(isinstance(item, str) for item in methods):
                raise InvalidToken("amr claim must be an array of strings")
            if not self.amr <= frozenset(methods):
                raise self._refusal(f"authentication with {' '.join(sorted(self.amr))} is required", accepted)
        if self.max_age is not None:
            auth_time = claims.get("auth_time")
            if auth_time is not None and (isinstance(auth_time, bool) or not isinstance(auth_time, (int, float))):
                raise InvalidToken("auth_time claim must be a number")
            if auth_time is None or now() - auth_time > self.max_age:
                raise self._refusal("a more recent authentication is required", accepted)

    def _refusal(self, description: str, accepted: tuple[str, ...]) -> InsufficientUserAuthentication:
        return InsufficientUserAuthentication(description, acr_values=" ".join(accepted) or None, max_age=self.max_age)

    def __str__(self) -> str:
        parts = []
        if self.acr is not None:
            parts.append(f"acr>={self.acr}")
        if self.amr:
            parts.append(f"amr={'+'.join(sorted(self.amr))}")
        if self.max_age is not None:
            parts.append(f"max_age={self.max_age}")
        return " ".join(parts)


def accepted_acr_values(minimum: str, ordered_acr_values: Sequence[str]) -> tuple[str, ...]:
    """``minimum`` and every class listed after it (stronger), in the configured order."""
    ordered = list(ordered_acr_values)
    if minimum not in ordered:
        raise ValueError(
            f"acr {minimum!r} is not one of the configured acr_values {ordered} "
            "(GuardConfig.acr_values lists them weakest first)"
        )
    return tuple(ordered[ordered.index(minimum):])


__all__ = ["AUTHGATE_ACR_VALUES", "AuthenticationRequirement"]
