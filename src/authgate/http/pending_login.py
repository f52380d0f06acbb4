"""The step between a correct password and a session: a pending login, and the browser sent to finish it.

The pending login itself (server-side, single-use, short-lived) is `accounts.mfa.PendingLogins`; this
module starts it for a browser (its cookie) and sends the browser to the second factor or to enrolment.
Here, below the protocol packages, because both the login page and `/authorize` (step-up) begin it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from authgate.accounts.mfa import PENDING_TTL, PendingLogins, Requirement
from authgate.http.rendering import redirect
from authgate.http.sessions import is_secure

if TYPE_CHECKING:
    from authgate.services import Services

PENDING_COOKIE = "authgate_pending_login"


def begin_second_step(request: Request, services: Services, user_id: int, *, amr: Sequence[str],
                      needed: Requirement, return_to: str) -> Response:
    """Record a pending login and send the browser to the code page (or to enrolment)."""
    value = PendingLogins(services.database).begin(
        user_id, amr=amr, must_enrol=needed is Requirement.ENROL, return_to=return_to)
    response = redirect("/login/enrol" if needed is Requirement.ENROL else "/login/factor")
    response.set_cookie(pending_cookie(services), value, max_age=int(PENDING_TTL.total_seconds()), path="/",
                        secure=is_secure(services.settings.issuer), httponly=True, samesite="lax")
    return response


def pending_cookie(services: Services) -> str:
    return f"__Host-{PENDING_COOKIE}" if is_secure(services.settings.issuer) else PENDING_COOKIE
