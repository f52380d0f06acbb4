"""The step between a correct password and a session: a pending login, and the browser sent to finish it.

The pending login itself (server-side, single-use, short-lived) is `accounts.mfa.PendingLogins`; this
module starts it for a browser (its cookie) and sends the browser to the second factor or to enrolment.
Here, below the protocol packages, because both the login page and `/authorize` (step-up) begin it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.mfa import PENDING_TTL, PendingLogins, Requirement
from authgate.http.rendering import redirect
from authgate.http.sessions import is_secure, set_flow_cookie

if TYPE_CHECKING:
    from authgate.services import Services

PENDING_COOKIE = "authgate_pending_login"


def begin_second_step(request: Request, services: Services, user_id: int, *, amr: Sequence[str],
                      needed: Requirement, return_to: str) -> Response:
    """Record a pending login and send the browser to the code page (or to enrolment)."""
    return start_second_step(services, user_id, amr=amr, needed=needed, return_to=return_to).response


@dataclass(frozen=True)
class SecondStep:
    pending: str  # the pending login's cookie value: what waits for the second step is kept under it
    response: Response


def start_second_step(services: Services, user_id: int, *, amr: Sequence[str], needed: Requirement,
                      return_to: str) -> SecondStep:
    """`begin_second_step` for a caller that keeps something for the end of the second step (federation/)."""
    value = PendingLogins(services.database).begin(
        user_id, amr=amr, must_enrol=needed is Requirement.ENROL, return_to=return_to)
    response = redirect("/login/enrol" if needed is Requirement.ENROL else "/login/factor")
    set_flow_cookie(response, services.settings.issuer, pending_cookie(services), value,
                    max_age=int(PENDING_TTL.total_seconds()), path="/")
    return SecondStep(value, response)


def pending_cookie(services: Services) -> str:
    return f"__Host-{PENDING_COOKIE}" if is_secure(services.settings.issuer) else PENDING_COOKIE
