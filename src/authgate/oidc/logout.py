"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3), GET and POST at /logout.

Steps: read `id_token_hint` (ours by signature and issuer; expired is fine),
settle the client (`client_id`, or the hint's audience; they must agree),
accept `post_logout_redirect_uri` only if registered for that client
(exact match; otherwise no redirect at all), then either log out at once —
a valid hint for the current user — or ask first on a CSRF-protected
confirmation page. Logging out ends the browser session, revokes the
refresh tokens issued under it (offline_access ones were not bound to it),
and is audited. A session signed in through another identity provider whose
entry asks for it (`upstream_logout`) then sends the browser to log out
there too; the provider sends it back to /login/idp/{alias}/logged-out,
which finishes this logout (`finish_logout`) as it would have here.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from authgate import audit
from authgate.federation import AMR_FEDERATED
from authgate.federation.attempts import BROWSER_COOKIE, BROWSER_COOKIE_PATH
from authgate.http import csrf, paths
from authgate.http.client_ip import client_ip
from authgate.http.page_form import read_page_form
from authgate.http.rendering import render
from authgate.http.sessions import ActiveSession, BrowserSessions, set_flow_cookie
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


@dataclass(frozen=True)
class AfterLogout:
    """Where the browser goes once the session has ended (kept server-side while a provider logs it out too)."""

    redirect_to: str | None  # a registered post_logout_redirect_uri
    state: str | None
    client_name: str | None
    hint_invalid: bool

    @classmethod
    def of(cls, wanted: LogoutRequest) -> AfterLogout:
        client_name = (wanted.client.name or wanted.client.client_id) if wanted.client else None
        return cls(wanted.redirect_to, wanted.state, client_name, wanted.hint_invalid)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AfterLogout:
        return cls(data.get("redirect_to"), data.get("state"), data.get("client_name"), bool(data.get("hint_invalid")))


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
            return _confirm(request, wanted, current, csrf.FORM_EXPIRED, 403)
    if current is not None and not confirmed and not _hint_is_for(wanted, current):
        return _confirm(request, wanted, current, None, 200)
    if current is not None:
        _end(request, services, sessions, current, wanted)
        upstream = _upstream_logout(request, services, sessions, current, wanted)
        if upstream is not None:
            return upstream
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
    registered = client is not None and not client.disabled and wanted_uri in client.post_logout_redirect_uris
    if registered and not hint_invalid:
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


def _end(
    request: Request, services: Services, sessions: BrowserSessions, current: ActiveSession, wanted: LogoutRequest
) -> None:
    sessions.end(request.cookies.get(sessions.cookie))
    with services.database.transaction() as session:
        revoked = services.oauth2.refresh_tokens.revoke_for_session(session, current.sid)
        audit.record(session, audit.LOGOUT, actor=current.username, subject=current.username,
                     client_id=wanted.client.client_id if wanted.client else None,
                     ip=client_ip(request, tuple(services.settings.trusted_proxies)), refresh_families_revoked=revoked)


def _upstream_logout(request: Request, services: Services, sessions: BrowserSessions, current: ActiveSession,
                     wanted: LogoutRequest) -> Response | None:
    """The provider that signed this session in logs the browser out too, when its entry asks for it; None: no."""
    if AMR_FEDERATED not in current.amr:
        return None
    browser = secrets.token_urlsafe(32)  # binds the way back (/login/idp/{alias}/logged-out) to this browser
    url = services.federation.upstream_logout_url(current.sid, browser, AfterLogout.of(wanted).as_dict())
    if url is None:
        return None
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store",
                                                               "Referrer-Policy": "no-referrer"})
    sessions.clear_cookie(response)
    set_flow_cookie(response, services.settings.issuer, BROWSER_COOKIE, browser,
                    max_age=services.settings.federation_login_ttl, path=BROWSER_COOKIE_PATH)
    return response


def _finish(request: Request, sessions: BrowserSessions, wanted: LogoutRequest) -> Response:
    response = finish_logout(request, AfterLogout.of(wanted))
    sessions.clear_cookie(response)
    return response


def finish_logout(request: Request, after: AfterLogout) -> Response:
    """Back to the client's registered post_logout_redirect_uri with its state (§3), or the signed-out page."""
    if after.redirect_to is not None:
        params = {"state": after.state} if after.state is not None else {}
        return RedirectResponse(with_query(after.redirect_to, params), status_code=303,
                                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    notice = ("The sign-out link was not valid, so you were not sent back to the application."
              if after.hint_invalid else None)
    return render(request, "logged_out.html", {"client_name": after.client_name, "error": notice})


def _confirm(
    request: Request, wanted: LogoutRequest, current: ActiveSession | None, error: str | None, status: int
) -> Response:
    return render(request, "logout_confirm.html", {
        "username": current.username if current else None,
        "client_name": (wanted.client.name or wanted.client.client_id) if wanted.client else None,
        "carry": wanted.carry, "error": error,
    }, status_code=status)


routes = [Route(paths.END_SESSION, logout, methods=["GET", "POST"])]
