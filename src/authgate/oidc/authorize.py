"""The authorization endpoint, GET and POST (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2).

A short list of steps: read the request (errors before the redirect URI is
trusted go to a page), make sure the right person is logged in recently
enough (prompt, max_age, id_token_hint), make sure they consented, then
issue a code and send it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authgate.accounts import mfa
from authgate.clock import utcnow
from authgate.http import paths
from authgate.http.page_form import read_page_form, read_page_query
from authgate.http.pending_login import begin_second_step
from authgate.http.rendering import error_page, redirect
from authgate.http.sessions import ActiveSession, BrowserSessions
from authgate.oauth2 import authorization_codes, strength
from authgate.oauth2.errors import ConsentRequired, InvalidRequest, LoginRequired, OAuthError
from authgate.oidc import authorization_response, consents
from authgate.oidc.authorization_request import AuthorizationRequest, parse
from authgate.oidc.errors import RedirectError, ShowErrorPage
from authgate.oidc.id_tokens import IdTokenHintInvalid, read_hint
from authgate.registration import registrations

if TYPE_CHECKING:
    from authgate.services import Services

logger = logging.getLogger("authgate.oidc.authorize")
Params = dict[str, list[str]]


async def authorize(request: Request) -> Response:
    # OIDC Core §3.1.2.1: the query string, or the POST form serialization.
    form = await read_page_form(request) if request.method == "POST" else read_page_query(request)
    params: Params = form.lists()
    return await run_in_threadpool(_authorize, request, params)


def _authorize(request: Request, params: Params) -> Response:
    services = request.app.state.services
    try:
        auth = parse(services, params)
    except ShowErrorPage as error:
        logger.info("authorization request refused on page: %s", error.debug or error.message)
        return error_page(request, error.message, title="This sign-in link does not work")
    except RedirectError as error:
        return authorization_response.failure(request, error.target, error.error)
    try:
        return _decide(request, auth, params)
    except OAuthError as error:
        return authorization_response.failure(request, auth.target, error)


def _decide(request: Request, auth: AuthorizationRequest, params: Params) -> Response:
    services = request.app.state.services
    session = BrowserSessions(services).current(request)
    if session is None or _must_log_in_again(services, auth, session):
        if "none" in auth.prompt:
            raise LoginRequired("The user is not logged in.")  # OIDC Core §3.1.2.6
        return redirect(login_url(params, auth.login_hint))
    needed = _second_factor_needed(services, auth, session)
    if needed is not mfa.Requirement.NONE:
        if "none" in auth.prompt:
            raise LoginRequired("The user must show a second factor.")  # OIDC Core §3.1.2.6
        # Step-up: the one-factor session is upgraded (a new one replaces it) once the factor is shown.
        return begin_second_step(request, services, session.user_id, amr=session.amr, needed=needed,
                                 return_to=return_path(params, drop_prompt="login"))
    if "consent" in auth.prompt or (not auth.client.first_party and consents.missing(
            services, session.user_id, auth.client.client_id, consents.items_of(auth.access))):
        if "none" in auth.prompt:
            raise ConsentRequired("The user has not consented to this request.")
        return redirect(paths.CONSENT + "?" + urlencode({"return_to": return_path(params, drop_prompt="consent")}))
    grant = authorization_codes.CodeGrant(
        client_id=auth.client.client_id, user_id=session.user_id, redirect_uri=auth.target.redirect_uri,
        scope=auth.scope, audience=auth.access.audience, nonce=auth.nonce,
        code_challenge=auth.code_challenge, code_challenge_method=auth.code_challenge_method,
        auth_time=session.auth_time, acr=strength.acr_of(session.amr), session_id=session.sid, amr=session.amr,
    )
    code = authorization_codes.issue(services.database, services.oauth2.authorization_codes, grant,
                                     ttl=services.settings.authorization_code_ttl)
    if auth.client.dynamic:
        registrations.mark_used(services.database, auth.client.client_id, utcnow())
    return authorization_response.success(request, auth.target, code)


def _second_factor_needed(services: Services, auth: AuthorizationRequest, session: ActiveSession) -> mfa.Requirement:
    """A one-factor session asks for the second factor when the client asks for the MFA level (acr_values), when
    the user has a factor (enrolled after this session began), or when a policy needs one (accounts/mfa.py)."""
    if mfa.is_multi_factor(session.amr) or services.settings.mfa == "off":
        return mfa.Requirement.NONE
    with services.database.reader() as db:
        needed = mfa.requirement(db, services.settings, session.user_id)
    if needed is mfa.Requirement.NONE and strength.asks_for_mfa(auth.acr_values):
        return mfa.Requirement.ENROL  # no factor yet: setting one up is how this login shows two
    return needed


def _must_log_in_again(services: Services, auth: AuthorizationRequest, session: ActiveSession) -> bool:
    if "login" in auth.prompt:
        return True  # OIDC Core §3.1.2.1 prompt=login
    if auth.max_age is not None and utcnow() - session.auth_time > timedelta(seconds=auth.max_age):
        return True  # OIDC Core §3.1.2.1 max_age
    if auth.id_token_hint is not None:
        try:
            hint = read_hint(services, auth.id_token_hint)
        except IdTokenHintInvalid as error:
            raise InvalidRequest("id_token_hint is not a valid ID token from this server.", debug=str(error)) from None
        return str(hint.get("sub")) != session.subject
    return False


def return_path(params: Mapping[str, Sequence[str]], *, drop_prompt: str, drop: tuple[str, ...] = ()) -> str:
    """The request to resume after a page, minus what that page satisfied (so it does not loop)."""
    resumed: list[tuple[str, str]] = []
    for key, values in params.items():
        if key in drop:
            continue
        for value in values:
            if key == "prompt":
                value = " ".join(part for part in value.split() if part != drop_prompt)
                if not value:
                    continue
            resumed.append((key, value))
    return paths.AUTHORIZE + "?" + urlencode(resumed)


def login_url(params: Mapping[str, Sequence[str]], login_hint: str | None) -> str:
    # A fresh login satisfies max_age and settles who is logged in (id_token_hint); auth_time
    # stays in every ID token, so the RP can still check it (OIDC Core §3.1.2.1).
    query = {"return_to": return_path(params, drop_prompt="login", drop=("max_age", "id_token_hint"))}
    if login_hint:
        query["login_hint"] = login_hint[:150]  # OIDC Core §3.1.2.1: prefill
    return paths.LOGIN + "?" + urlencode(query)


routes = [Route(paths.AUTHORIZE, authorize, methods=["GET", "POST"])]
