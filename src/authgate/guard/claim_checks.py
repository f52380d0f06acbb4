"""The registered-claim checks of RFC 7519 §4.1 as RFC 9068 §4 applies them."""

from __future__ import annotations

import math
from typing import Any

from authgate.guard.config import GuardConfig
from authgate.guard.errors import InvalidToken


def _numeric_date(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    # RFC 7519 §2: a NumericDate is a JSON number; true/false are not, and
    # neither is a value JSON cannot carry (NaN, Infinity, 1e400).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidToken(f"{name} claim must be a NumericDate")
    try:
        number = float(value)
    except OverflowError as err:
        raise InvalidToken(f"{name} claim must be a NumericDate") from err
    if not math.isfinite(number):
        raise InvalidToken(f"{name} claim must be a NumericDate")
    return number


class ClaimChecks:
    """``iss``, ``aud``, ``exp``, ``nbf``, ``iat`` against the configuration."""

    def __init__(self, config: GuardConfig) -> None:
        self._issuer = config.issuer
        self._audiences = config.audiences
        self._required = tuple(config.required_claims)
        self._leeway = config.leeway
        self._clock = config.clock

    def check(self, payload: dict[str, Any]) -> None:
        """Raise ``InvalidToken`` with a short reason for the first failed check."""
        for name in self._required:
            if name not in payload:
                raise InvalidToken(f"missing {name} claim")
        # RFC 9068 §4: iss MUST exactly match the issuer identifier.
        if "iss" in payload and payload["iss"] != self._issuer:
            raise InvalidToken("wrong issuer")
        if "aud" in payload:
            self._check_audience(payload["aud"])
        now = self._clock()
        expires = _numeric_date(payload, "exp")
        # RFC 7519 §4.1.4: the current time MUST be before exp (with leeway).
        if expires is not None and now >= expires + self._leeway:
            raise InvalidToken("token expired")
        not_before = _numeric_date(payload, "nbf")
        # RFC 7519 §4.1.5: not accepted before nbf.
        if not_before is not None and now + self._leeway < not_before:
            raise InvalidToken("token not yet valid (nbf)")
        issued = _numeric_date(payload, "iat")
        # RFC 7519 §4.1.6 / RFC 9068 §4: a token issued in the future is refused.
        if issued is not None and now + self._leeway < issued:
            raise InvalidToken("token issued in the future (iat)")

    def _check_audience(self, audience: Any) -> None:
        # RFC 7519 §4.1.3: aud is a string or an array of strings, and MUST
        # identify this resource server (RFC 9068 §4).
        if isinstance(audience, str):
            accepted = audience in self._audiences
        elif isinstance(audience, list) and all(isinstance(item, str) for item in audience):
            accepted = not self._audiences.isdisjoint(audience)
        else:
            raise InvalidToken("aud claim must be a string or an array of strings")
        if not accepted:
            raise InvalidToken("wrong audience")
