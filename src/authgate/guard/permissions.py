"""What a route needs, and the check against what a token grants.

``requires_auth("a")`` and ``requires_auth("a", "b")`` or ``requires_auth(["a",
"b"])`` need every permission listed; ``requires_auth(any_of=["a", "b"])``
needs at least one of them; both can be combined. Permissions come from the
token's ``permissions`` claim and its ``scope``/``scp`` claims alike.
A route may also need a sign-in of some strength (``acr``, ``amr``,
``max_age``: see ``authentication.py``); that is checked after the
permissions, since stepping up cannot grant a missing permission.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from authgate.guard.authentication import AUTHGATE_ACR_VALUES, AuthenticationRequirement
from authgate.guard.claims import Claims
from authgate.guard.errors import InsufficientPermission

PermissionSpec = str | Iterable[str]


def _names(specs: Iterable[PermissionSpec]) -> frozenset[str]:
    names: set[str] = set()
    for spec in specs:
        if isinstance(spec, str):
            names.add(spec)
        else:
            names.update(spec)
    for name in names:
        if not isinstance(name, str) or not name or " " in name:
            raise ValueError(f"a permission is a non-empty string without spaces: {name!r}")
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Requirement:
    """All of ``all_of``, when ``any_of`` is not empty one of ``any_of``, and the ``authentication``."""

    all_of: frozenset[str] = frozenset()
    any_of: frozenset[str] = frozenset()
    authentication: AuthenticationRequirement = AuthenticationRequirement()

    @classmethod
    def of(
        cls,
        *permissions: PermissionSpec,
        any_of: Iterable[str] | None = None,
        authentication: AuthenticationRequirement | None = None,
    ) -> Requirement:
        """Build from the arguments ``requires_auth`` accepts."""
        alternatives = _names([any_of]) if any_of is not None else frozenset()
        if any_of is not None and not alternatives:
            raise ValueError("any_of needs at least one permission")
        return cls(all_of=_names(permissions), any_of=alternatives,
                   authentication=authentication or AuthenticationRequirement())

    def check(
        self,
        claims: Claims,
        ordered_acr_values: Sequence[str] = AUTHGATE_ACR_VALUES,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Raise ``InsufficientPermission`` naming what is needed (RFC 6750 §3.1).

        Then ``InsufficientUserAuthentication`` (RFC 9470 §3) when the sign-in
        is weaker or older than ``authentication`` asks; ``ordered_acr_values``
        and ``now`` (the wall clock ``max_age`` is measured with) are the
        guard's ``GuardConfig.acr_values`` and ``clock``.

        Granted permissions are looked up in a set precomputed when the
        token was verified, so this costs a set difference per request.
        """
        granted = claims.granted
        missing = self.all_of - granted
        if missing:
            # RFC 6750 §3: "scope" lists what the resource requires; the
            # description says which of those the token lacks.
            raise InsufficientPermission(
                f"missing permission: {' '.join(sorted(missing))}",
                scope=" ".join(sorted(self.all_of)),
            )
        if self.any_of and not (self.any_of & granted):
            alternatives = " ".join(sorted(self.any_of))
            raise InsufficientPermission(
                f"requires one of the permissions: {alternatives}", scope=alternatives
            )
        if self.authentication:
            self.authentication.check(claims, ordered_acr_values, now)

    def __str__(self) -> str:
        text = " ".join(sorted(self.all_of))
        if self.any_of:
            text += f" (one of: {' '.join(sorted(self.any_of))})"
        if self.authentication:
            text += f" [{self.authentication}]"
        return text.strip() or "(authenticated)"
