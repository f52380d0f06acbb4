"""What a route needs, and the check against what a token grants.

``requires_auth("a")`` and ``requires_auth("a", "b")`` or ``requires_auth(["a",
"b"])`` need every permission listed; ``requires_auth(any_of=["a", "b"])``
needs at least one of them; both can be combined. Permissions come from the
token's ``permissions`` claim and its ``scope``/``scp`` claims alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
    """All of ``all_of`` and, when ``any_of`` is not empty, one of ``any_of``."""

    all_of: frozenset[str] = frozenset()
    any_of: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, *permissions: PermissionSpec, any_of: Iterable[str] | None = None
    ) -> Requirement:
        """Build from the arguments ``requires_auth`` accepts."""
        alternatives = _names([any_of]) if any_of is not None else frozenset()
        if any_of is not None and not alternatives:
            raise ValueError("any_of needs at least one permission")
        return cls(all_of=_names(permissions), any_of=alternatives)

    def check(self, claims: Claims) -> None:
        """Raise ``InsufficientPermission`` naming what is needed (RFC 6750 §3.1).

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

    def __str__(self) -> str:
        text = " ".join(sorted(self.all_of))
        if self.any_of:
            text += f" (one of: {' '.join(sorted(self.any_of))})"
        return text.strip() or "(authenticated)"
