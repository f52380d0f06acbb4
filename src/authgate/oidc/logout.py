"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3), GET and POST at /logout.

Steps: read `id_token_hint` (ours by signature and issuer; expired is fine),
settle the client (`client_id`, or the hint's audience; they must agree),
accept `post_logout_redirect_uri` only if registered for that client
(exact match; otherwise no redirect at all), then either log out at once —
a valid hint for the current user — or ask first on a CSRF-protected
confirmation page. Logging out ends the browser session, revokes the
refresh tokens issued under it (offline_access ones were not bound to it),
and is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authgate import audit
from authgate.http import csrf, paths
from authgate.http.client_ip import client_ip
from authgate.http.page_form import read_page_form
from authgate.http.rendering import render
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.oauth2.client_directory import ClientRecord
from authgate.oidc.authorization_response import with_query
from authgate.oidc.id_tokens import IdTokenHintInvalid, audiences, read_hint

if TYPE_CHECKING:
    from authgate.services import Services

logger = logging.getLogger("authgate.oidc.logout")
CARRIED = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@dataclass(frozen=True)
class LogoutRequest:
    hint: dict[str, Any] | None
    hint_invalid: bool
    client: ClientRecord | None
    redirect_to: str | None  # a registered post_logout_redirect_uri, or None
    state: str | None
    carry: dict[str, str]


async def logout(request: Request) -> Response:
    if request.method == "POST":
        form = await read_page_form(request)
        params = form.firsts()
    else:
        params = dict(request.query_params)
    return await run_in_threadpool(_logout, request, params)


def _logout(request: Request, params: dict[str, str]) -> Response:
    services: Services = request.app.state.services
    sessions = BrowserSessions(services)
    current = sessions.current(request)
    wanted = _read(services, params)
    confirmed = request.method == "POST" and params.get("confirm") == "yes"
    if confirmed:
        try:
            csrf.check(request, params.get(csrf.FIELD), services.settings.issuer)
        except csrf.CsrfFailed:
            return _confirm(request, wanted, current, "This form expired or came from another site. Please try again.", 403)
    if current is not None and not confirmed and not _hint_is_for(wanted, current):
        return _confirm(request, wanted, current, None, 200)
    if current is not None:
        _end(request, services, sessions, current, wanted)
    return _finish(request, sessions, wanted)


def _read(services: Services, params: dict[str, str]) -> LogoutRequest:
    hint, hint_invalid = None, False
    raw_hint = params.get("id_token_hint") or None
    if raw_hint:
        try:
            hint = read_hint(services, raw_hint)
        except IdTokenHintInvalid as error:
            logger.info("logout with an invalid id_token_hint: %s", error)
            hint_invalid = True
    client_id = params.get("client_id") or None
    hinted = list(audiences(hint)) if hint else []
    if client_id and hint and client_id not in hinted:
        client_id, hint_invalid = None, True  # §2: client_id must match the hint's audience
    if client_id is None and len(hinted) == 1:
        client_id = hinted[0]
    client = services.oauth2.clients.get(client_id[:200]) if client_id else None
    wanted_uri = params.get("post_logout_redirect_uri") or None
    redirect_to = None
    if client is not None and not client.disabled and not hint_invalid and wanted_uri in client.post_logout_redirect_uris:
        redirect_to = wanted_uri  # RP-Initiated Logout §3: MUST match a registered value exactly
    elif wanted_uri:
        logger.info("logout: post_logout_redirect_uri not registered for %r; not redirecting", client_id)
    carry = {name: params[name][:4000] for name in CARRIED if params.get(name)}
    return LogoutRequest(hint, hint_invalid, client, redirect_to, params.get("state") or None, carry)


def _hint_is_for(wanted: LogoutRequest, current: ActiveSession) -> bool:
    """A valid hint naming the logged-in user (and, when it has one, this very session)."""
    if wanted.hint is None:
        return False
    if str(wanted.hint.get("sub")) != current.subject:
        return False
    sid = wanted.hint.get("sid")
    return sid is None or sid == current.sid


def _end(request: Request, services: Services, sessions: BrowserSessions, current: ActiveSession, wanted: LogoutRequest) -> None:
    sessions.end(request.cookies.get(sessions.cookie))
    with services.database.transaction() as session:
        revoked = services.oauth2.refresh_tokens.revoke_for_session(session, current.sid)
        audit.record(session, audit.LOGOUT, actor=current.username, subject=current.username,
                     client_id=wanted.client.client_id if wanted.client else None,
                     ip=client_ip(request, tuple(services.settings.trusted_proxies)), refresh_families_revoked=revoked)


def _finish(request: Request, sessions: BrowserSessions, wanted: LogoutRequest) -> Response:
    response: Response
    if wanted.redirect_to is not None:
        params = {"state": wanted.state} if wanted.state is not None else {}
        response = RedirectResponse(with_query(wanted.redirect_to, params), status_code=303,
                                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    else:
        notice = "The sign-out link was not valid, so you were not sent back to the application." if wanted.hint_invalid else None
        client_name = (wanted.client.name or wanted.client.client_id) if wanted.client else None
        response = render(request, "logged_out.html", {"client_name": client_name, "error": notice})
    sessions.clear_cookie(response)
    return response


def _confirm(request: Request, wanted: LogoutRequest, current: ActiveSession | None, error: str | None, status: int) -> Response:
    return render(request, "logout_confirm.html", {
        "username": current.username if current else None,
        "client_name": (wanted.client.name or wanted.client.client_id) if wanted.client else None,
        "carry": wanted.carry, "error": error,
    }, status_code=status)


routes = [Route(paths.END_SESSION, logout, methods=["GET", "POST"])]
