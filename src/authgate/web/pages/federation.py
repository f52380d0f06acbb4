"""Signing in with another identity provider: the pages, one small step each.

    GET  /login/idp/{alias}           → the provider's authorization endpoint (state, nonce, PKCE)
    GET  /login/idp/{alias}/callback  → check the answer, find or create the user, start the session
    POST /login/idp/link              → the person proves the existing account; the identity is linked
                                        (after the second factor, when the account has one)
    GET  /login/idp/{alias}/logged-out → the provider logged the browser out too: finish authgate's logout
    GET  /account/identities          → the linked identities; POST …/unlink removes one

Every failure ends on a page that says what happened, with a status code
(never a 500, never a redirect that could loop): an unknown provider 404, a
replayed or foreign `state` 400, the provider's refusal 403, an answer that
fails a check 400 (audited), an unreachable provider 503.
"""

from __future__ import annotations

import logging
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import audit, text
from authgate.accounts import mfa
from authgate.accounts.login import LoginFailed, LoginThrottled, LoginUnverified, PasswordLogin
from authgate.errors import DomainError
from authgate.federation import AMR_FEDERATED
from authgate.federation.attempts import (
    BROWSER_COOKIE,
    BROWSER_COOKIE_PATH,
    MAX_TOKEN,
    AfterSecondStep,
    LoginAttempt,
    UpstreamSignIn,
    browser_of,
)
from authgate.federation.identities import (
    AccountDisabled,
    NeedsLink,
    UnverifiedEmail,
    UpstreamIdentity,
    identity_from_claims,
    linked_identities,
    resolve,
    unlink,
)
from authgate.federation.runtime import Provider
from authgate.federation.upstream import (
    UpstreamError,
    UpstreamInvalid,
    UpstreamRefused,
    UpstreamUnavailable,
)
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.page_form import PASSWORD, read_page_form, read_page_query
from authgate.http.pending_login import start_second_step
from authgate.http.rendering import error_page, redirect, render
from authgate.http.sessions import ActiveSession, BrowserSessions, set_flow_cookie
from authgate.oidc.logout import AfterLogout, finish_logout
from authgate.services import Services
from authgate.storage.models import FederatedIdentity
from authgate.web.pages import navigation

logger = logging.getLogger("authgate.federation")
MAX_CODE = 2000
MAX_ERROR_TEXT = 300
TITLE = "Signing in with another account did not work"


# --- GET /login/idp/{alias} -------------------------------------------------------------------------
async def start(request: Request) -> Response:
    query = read_page_query(request)
    return_to = navigation.safe_return_to(query.value("return_to", navigation.MAX_LENGTH))
    return await run_in_threadpool(_start, request, str(request.path_params["alias"]), return_to)


def _start(request: Request, alias: str, return_to: str) -> Response:
    services: Services = request.app.state.services
    provider = _provider_for(services, alias, return_to)
    if provider is None:
        return error_page(request, "There is no such way to sign in here.", status_code=404, title="Not found")
    federation = services.federation
    try:
        metadata = federation.upstream.metadata(provider.spec)
    except UpstreamError as error:
        return _upstream_failed(request, services, provider, error)
    browser = _browser(request) or secrets.token_urlsafe(32)
    state, attempt = federation.attempts.begin_login(alias, browser, return_to)
    url = federation.upstream.authorization_url(provider.spec, metadata, redirect_uri=federation.redirect_uri(alias),
                                                state=state, nonce=attempt.nonce, code_verifier=attempt.code_verifier)
    response = redirect(url)
    set_flow_cookie(response, services.settings.issuer, BROWSER_COOKIE, browser,
                    max_age=services.settings.federation_login_ttl, path=BROWSER_COOKIE_PATH)
    return response


def _provider_for(services: Services, alias: str, return_to: str) -> Provider | None:
    """The enabled provider, when the client being signed in to offers it."""
    if len(alias) > 64 or not text.is_acceptable(alias):
        return None
    provider = services.federation.read_provider(alias)
    if provider is None:
        return None
    return provider if provider.spec.offered_to(navigation.client_id_of(return_to)) else None


# --- GET /login/idp/{alias}/callback ------------------------------------------------------------------
async def callback(request: Request) -> Response:
    query = read_page_query(request)
    # Over-long values are refused whole (UnreadableForm: a 400 page) before anything is looked up.
    values = {name: query.value(name, limit) for name, limit in (
        ("state", MAX_TOKEN), ("code", MAX_CODE), ("iss", 400), ("error", 100),
        ("error_description", 2000))}
    return await run_in_threadpool(_callback, request, str(request.path_params["alias"]), values)


def _callback(request: Request, alias: str, values: dict[str, str]) -> Response:
    services: Services = request.app.state.services
    attempt = services.federation.attempts.take_login(values["state"], _browser(request))
    if attempt is None or attempt.alias != alias:
        # RFC 6749 §10.12: a state this browser did not start here (replayed, expired, forged) ends here.
        return error_page(request, "This sign-in attempt expired, was already used, or was started in another "
                          "browser. Go back to the application and sign in again.", title=TITLE)
    provider = services.federation.read_provider(alias)
    if provider is None:
        return error_page(request, "This way to sign in is no longer offered.", status_code=404, title=TITLE)
    ip = _ip(request)
    try:
        return _finish(request, services, provider, attempt, values, ip)
    except UpstreamError as error:
        return _upstream_failed(request, services, provider, error, ip=ip)


def _finish(request: Request, services: Services, provider: Provider, attempt: LoginAttempt,
            values: dict[str, str], ip: str) -> Response:
    spec, upstream = provider.spec, services.federation.upstream
    if values["error"]:
        raise UpstreamRefused(values["error"], values["error_description"][:MAX_ERROR_TEXT] or None)
    metadata = upstream.metadata(spec)
    # RFC 9207 §2.4: when the provider says it sends `iss` (or sends one), it must be its own issuer.
    if (values["iss"] or metadata.iss_parameter_supported) and spec.type == "oidc" and values["iss"] != metadata.issuer:
        raise UpstreamInvalid("The answer came from another provider than the one asked (iss).",
                       f"iss {values['iss'][:100]!r}, expected {metadata.issuer!r}")
    if not values["code"]:
        raise UpstreamInvalid("The provider's answer has no authorization code.")
    if provider.secret is None:
        raise UpstreamUnavailable("This way to sign in is not fully configured (no client secret).")
    redirect_uri = services.federation.redirect_uri(spec.alias)
    token = upstream.exchange(spec, provider.secret, metadata, redirect_uri=redirect_uri, code=values["code"],
                              code_verifier=attempt.code_verifier)
    claims: dict[str, object] = {}
    signed_in = UpstreamSignIn(spec.alias)
    if spec.type == "oidc":
        if not isinstance(token.get("id_token"), str):
            raise UpstreamInvalid("The provider sent no ID token.")
        claims = upstream.verify_id_token(spec, metadata, token["id_token"], attempt.nonce)
        if spec.upstream_logout:  # kept server-side only to log out there (RP-Initiated Logout §2 id_token_hint)
            signed_in = UpstreamSignIn(spec.alias, token["id_token"])
    userinfo = upstream.userinfo(metadata, str(token["access_token"]))
    if spec.type == "oauth2" or userinfo.get("sub") == claims.get("sub"):  # OIDC Core §5.3.2: same sub, or ignore
        claims = {**userinfo, **claims}
    identity = identity_from_claims(spec, claims)
    client_id = navigation.client_id_of(attempt.return_to)
    try:
        with services.realm(actor=spec.alias) as realm:
            outcome = resolve(realm, spec, identity, ip=ip, client_id=client_id)
    except UnverifiedEmail as error:
        _refused(services, spec.alias, "unverified_email", ip)
        return error_page(request, f"{error.message} Sign in with your password instead.", status_code=403,
                          title=TITLE)
    except AccountDisabled as error:
        return error_page(request, error.message, status_code=403, title=TITLE)
    except DomainError as error:
        logger.warning("first login through %s refused: %s", spec.alias, error.message)
        return error_page(request, f"Your account could not be set up: {error.message}", status_code=400,
                          title=TITLE)
    if isinstance(outcome, NeedsLink):
        token_value = services.federation.attempts.begin_link(
            _browser(request) or "", outcome.user_id, identity, attempt.return_to, signed_in.id_token)
        return _link_form(request, services, token_value, outcome.username, spec.display_name, None, 200)
    return _signed_in(request, services, outcome.user_id, outcome.username, (AMR_FEDERATED,), attempt.return_to,
                      ip, signed_in)


def _signed_in(request: Request, services: Services, user_id: int, username: str, amr: tuple[str, ...],
               return_to: str, ip: str, upstream: UpstreamSignIn, link: UpstreamIdentity | None = None) -> Response:
    """Like the password login: a user with a second factor, or under an MFA policy, is asked for it first
    (the upstream's sign-in is one factor here, as a password is), and an identity waiting to be linked is
    linked only once it is shown; then a new session (new cookie), then back to what asked for the login."""
    federation = services.federation
    with services.database.reader() as session:
        needed = mfa.requirement(session, services.settings, user_id)
    response: Response
    if needed is not mfa.Requirement.NONE:
        second = start_second_step(services, user_id, amr=amr, needed=needed, return_to=return_to)
        federation.attempts.begin_after_second_step(second.pending, AfterSecondStep(user_id, upstream, link))
        response = second.response
    else:
        sessions = BrowserSessions(services)
        value, sid = sessions.start(user_id, amr=amr, ip=ip, user_agent=request.headers.get("user-agent"),
                                    replacing=request.cookies.get(sessions.cookie))
        federation.link_and_start(sid, user_id, username, upstream, link, ip=ip)
        response = redirect(return_to)
        sessions.set_cookie(response, value)
    response.delete_cookie(BROWSER_COOKIE, path=BROWSER_COOKIE_PATH)
    return response


# --- POST /login/idp/link: prove the existing account ---------------------------------------------------
async def link_submit(request: Request) -> Response:
    form = await read_page_form(request)
    token, password = form.value("token", MAX_TOKEN), form.value("password", PASSWORD)
    return await run_in_threadpool(_link, request, token, password, form.get(csrf.FIELD))


def _link(request: Request, token: str, password: str, csrf_token: str | None) -> Response:
    services: Services = request.app.state.services
    attempts = services.federation.attempts
    pending = attempts.peek_link(token, _browser(request))
    if pending is None:
        return error_page(request, "This linking form expired or was already used. Sign in again.", title=TITLE)
    with services.reader() as realm:
        user = realm.users.get_by_id(pending.user_id)
        username = user.username
        provider = services.federation.providers(realm).get(pending.alias)
        display_name = provider.display_name

    def again(error: str, status: int) -> Response:
        return _link_form(request, services, token, username, display_name, error, status)

    try:
        csrf.check(request, csrf_token, services.settings.issuer)
    except csrf.CsrfFailed:
        return again("This form expired or came from another site. Please try again.", 403)
    ip = _ip(request)
    try:
        # The same path as the login page: throttled, audited, and whatever else a password login requires.
        PasswordLogin(services).authenticate(username, password, ip=ip, client_id=navigation.client_id_of(
            pending.return_to))
    except LoginThrottled as throttled:
        return again(f"Too many failed attempts. Try again in {max(1, int(throttled.retry_after_seconds))} s.", 429)
    except LoginUnverified:
        return again("Confirm this account's email address first, then sign in again.", 403)
    except LoginFailed:
        return again("The password is incorrect.", 401)
    taken = attempts.take_link(token, _browser(request))
    if taken is None:
        return error_page(request, "This linking form was already used. Sign in again.", title=TITLE)
    # Linked when the session starts: at once, or once the account's second factor is shown (never before).
    return _signed_in(request, services, taken.user_id, username, ("pwd", AMR_FEDERATED), taken.return_to, ip,
                      UpstreamSignIn(taken.alias, taken.id_token), link=taken.identity)


def _link_form(request: Request, services: Services, token: str, username: str, display_name: str,
               error: str | None, status: int) -> Response:
    return render(request, "federation_link.html", {
        "token": token, "username": username, "provider": display_name, "error": error,
    }, status_code=status)


# --- GET /login/idp/{alias}/logged-out: the provider logged the browser out too ---------------------------
async def logged_out(request: Request) -> Response:
    query = read_page_query(request)
    return await run_in_threadpool(_logged_out, request, str(request.path_params["alias"]),
                                   query.value("state", MAX_TOKEN))


def _logged_out(request: Request, alias: str, state: str) -> Response:
    """authgate's session ended before the browser went to the provider; here its logout finishes as it would
    have: back to the client's registered post_logout_redirect_uri with its state, or the signed-out page."""
    services: Services = request.app.state.services
    taken = services.federation.attempts.take_logout(state, _browser(request))
    if taken is None or taken[0] != alias:
        # An unknown, used or foreign state: the person is signed out all the same; nobody is sent anywhere.
        after = AfterLogout(None, None, None, hint_invalid=False)
    else:
        after = AfterLogout.from_dict(taken[1])
    response = finish_logout(request, after)  # the session cookie was cleared on the way to the provider
    response.delete_cookie(BROWSER_COOKIE, path=BROWSER_COOKIE_PATH)
    return response


# --- the account page's linked identities ------------------------------------------------------------
async def identities_page(request: Request) -> Response:
    return await run_in_threadpool(_identities, request, None, None)


async def unlink_submit(request: Request) -> Response:
    form = await read_page_form(request)
    return await run_in_threadpool(_identities, request, form.value("alias", 64), form.get(csrf.FIELD))


def _identities(request: Request, alias: str | None, csrf_token: str | None) -> Response:
    services: Services = request.app.state.services
    session = BrowserSessions(services).current(request)
    if session is None:
        return redirect(navigation.with_return_to("/login", "/account/identities"))
    error = notice = None
    status = 200
    if alias is not None:
        error, status = _unlink(request, services, session, alias, csrf_token)
        notice = None if error else "The identity was unlinked."
    with services.reader() as realm:
        names = {row.alias: row.display_name for row in services.federation.providers(realm).list()}
        rows: list[FederatedIdentity] = list(linked_identities(realm, session.user_id))
        shown = [{"alias": row.provider_alias, "provider": names.get(row.provider_alias, row.provider_alias),
                  "email": row.email, "linked_at": row.created_at} for row in rows]
    return render(request, "identities.html", {"identities": shown, "error": error, "notice": notice},
                  status_code=status)


def _unlink(request: Request, services: Services, session: ActiveSession, alias: str,
            csrf_token: str | None) -> tuple[str | None, int]:
    try:
        csrf.check(request, csrf_token, services.settings.issuer)
    except csrf.CsrfFailed:
        return "This form expired or came from another site. Please try again.", 403
    try:
        with services.realm(actor=session.username) as realm:
            unlink(realm, session.user_id, alias, ip=_ip(request))
    except DomainError as error:
        return error.message, 409
    return None, 200


# --- shared --------------------------------------------------------------------------------------
def _upstream_failed(request: Request, services: Services, provider: Provider, error: UpstreamError, *,
                     ip: str | None = None) -> Response:
    name = provider.spec.display_name
    logger.warning("identity provider %s: %s (%s)", provider.spec.alias, error.message, error.debug)
    if isinstance(error, UpstreamUnavailable):
        response = error_page(request, f"{name} cannot be reached right now. Try again in a few minutes, or sign "
                              "in another way.", status_code=503, title=f"{name} is not available")
        response.headers["Retry-After"] = "30"
        return response
    _refused(services, provider.spec.alias, getattr(error, "error", "invalid_response"), ip)
    if isinstance(error, UpstreamRefused):
        return error_page(request, f"{name} did not sign you in. {error.message}", status_code=403, title=TITLE)
    return error_page(request, f"{name}'s answer could not be trusted: {error.message}", title=TITLE)


def _refused(services: Services, alias: str, reason: str, ip: str | None) -> None:
    audit.record_now(services.database, audit.FEDERATED_REFUSED, subject=alias, ip=ip, outcome="failure",
                     provider=alias, reason=reason[:100])


def _browser(request: Request) -> str | None:
    return browser_of(request.cookies.get(BROWSER_COOKIE))


def _ip(request: Request) -> str:
    return client_ip(request, tuple(request.app.state.services.settings.trusted_proxies))
