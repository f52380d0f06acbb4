"""The consent page (OIDC Core §3.1.2.4): a third-party client asks; the person allows or denies.

It re-reads the authorization request it resumes with the same parser as
/authorize, so what it shows is exactly what will be granted. Allow records
the scopes and resumes the request; Deny sends `access_denied` to the
client's verified redirect URI (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate.http import csrf
from authgate.http.page_form import read_page_form
from authgate.http.rendering import error_page, redirect, render
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.oauth2.errors import AccessDenied
from authgate.oidc import authorization_response, consents
from authgate.oidc.authorization_request import AuthorizationRequest, parse
from authgate.oidc.claims import SCOPE_DESCRIPTIONS
from authgate.oidc.errors import RedirectError, ShowErrorPage
from authgate.storage.models import Api
from authgate.web.pages import navigation


@dataclass(frozen=True)
class ScopeItem:
    text: str
    detail: str | None


async def consent_page(request: Request) -> Response:
    return await run_in_threadpool(_handle, request, request.query_params.get("return_to"), None, None)


async def consent_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return_to, decision = form.value("return_to", navigation.MAX_LENGTH), form.value("decision", 10)
    return await run_in_threadpool(_handle, request, return_to, decision, form.get(csrf.FIELD))


def _handle(request: Request, raw_return_to: str | None, decision: str | None, token: object) -> Response:
    services = request.app.state.services
    return_to = navigation.safe_return_to(raw_return_to)
    params = navigation.authorize_params(return_to)
    if params is None:
        return error_page(request, "There is no request waiting for your consent.")
    session = BrowserSessions(services).current(request)
    if session is None:
        return redirect(navigation.with_return_to("/login", return_to))
    try:
        auth = parse(services, params)
    except ShowErrorPage as error:
        return error_page(request, error.message)
    except RedirectError as error:
        return authorization_response.failure(request, error.target, error.error)
    if decision is None:
        return _show(request, auth, session, return_to, None, 200)
    try:
        csrf.check(request, token, services.settings.issuer)
    except csrf.CsrfFailed:
        return _show(request, auth, session, return_to, csrf.FORM_EXPIRED, 403)
    if decision != "allow":
        return authorization_response.failure(request, auth.target, AccessDenied("The user denied the request."))
    consents.grant(services, session.user_id, auth.client.client_id, consents.items_of(auth.access))
    return redirect(return_to)


def _show(request: Request, auth: AuthorizationRequest, session: ActiveSession, return_to: str,
          error: str | None, status: int) -> Response:
    return render(request, "consent.html", {
        "client_name": auth.client.name or auth.client.client_id, "username": session.username,
        "items": describe(request, auth), "return_to": return_to, "error": error,
        # A self-registered client chose its own name: say so, next to the redirect target it will get.
        "self_registered": auth.client.dynamic, "redirect_host": urlsplit(auth.target.redirect_uri).netloc,
    }, status_code=status)


def describe(request: Request, auth: AuthorizationRequest) -> list[ScopeItem]:
    """Each requested scope in words: OpenID scopes by meaning, permissions by the API's own description."""
    items = [ScopeItem(SCOPE_DESCRIPTIONS[name], None) for name in auth.access.openid_scopes]
    if auth.access.audience is None:
        return items
    with request.app.state.services.reader() as realm:
        api: Api | None = realm.apis.find(auth.access.audience)
        described = {p.name: p.description for p in api.permissions} if api else {}
        api_name = api.name if api else auth.access.audience
    if auth.access.permissions is None:
        items.append(ScopeItem(f"Use {api_name} for you, with the access your account has there", None))
    else:
        items.extend(
            ScopeItem(described[name] or f"Use {api_name}: {name}", name)
            for name in auth.access.permissions
            if name in described
        )
    return items
