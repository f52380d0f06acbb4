"""STAND-IN for h15-mfa's second-factor step page — the lead's merge point: replace this file with theirs.

The passkey lane (web/pages/passkeys.py) calls exactly these two functions; on
this branch there is no pending login yet, so no browser has one.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from authgate.services import Services


def pending_user_id(request: Request, services: Services) -> int | None:
    """The user whose password was right and who now owes a second factor, or None (h15-mfa)."""
    return None


async def complete_second_factor(request: Request, services: Services, user_id: int, amr: Sequence[str]) -> Response:
    """Finish the pending login with a second factor whose methods are `amr` (h15-mfa)."""
    raise NotImplementedError("the pending login of h15-mfa is not merged on this branch")
