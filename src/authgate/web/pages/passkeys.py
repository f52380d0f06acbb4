"""The passkey ceremonies' JSON endpoints, driven by /static/passkeys.js (accounts/passkeys.py does the work).

    POST /login/passkey/options                 → PublicKeyCredentialRequestOptionsJSON (any passkey)
    POST /login/passkey/verify                  {credential, return_to} → {redirect}, a new session
    POST /login/passkey/second-factor/options   → options for the pending login's user's passkeys
    POST /login/passkey/second-factor/verify    {credential} → h15-mfa's completion of the pending login
    POST /account/passkeys/options              → PublicKeyCredentialCreationOptionsJSON (signed in)
    POST /account/passkeys/register             {credential, name} → {id, name}

Each POST carries the page's CSRF token in `X-CSRF-Token` (web/csrf.py: this
browser's, from our origin); the secret of the CSRF cookie is what binds a
challenge to the browser. Answers are JSON, errors `{"error",
"error_description"}` with a 4xx status: never a page, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from authgate import text
from authgate.accounts.login import LoginFailed, LoginThrottled, LoginUnverified
from authgate.accounts.passkeys import SECOND_FACTOR, Owner, PasskeyRefused, Passkeys, PasskeyUse
from authgate.errors import InvalidInput
from authgate.http import csrf
from authgate.http.client_ip import client_ip
from authgate.http.sessions import BrowserSessions
from authgate.services import Services
from authgate.web.pages import mfa, navigation
from authgate.web.pages.login import signed_in

HEADER = "x-csrf-token"
MAX_BODY_BYTES = 64 * 1024  # a credential's JSON: ids ≤ 1023 bytes, keys and attestations of a few KiB
NO_STORE = {"Cache-Control": "no-store"}
T = TypeVar("T")


class Refusal(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers or {}


def refusal_response(refusal: Refusal) -> JSONResponse:
    return JSONResponse({"error": refusal.error, "error_description": refusal.description},
                        status_code=refusal.status, headers={**NO_STORE, **refusal.headers})


Handler = Callable[[Request, Services, str, dict[str, Any]], T]


async def ceremony(request: Request, handle: Handler[T]) -> T | Response:
    """CSRF, a bounded JSON object, then `handle(request, services, browser, body)` in a thread: its
    result, or the refusal (the domain's refusals too) as a 4xx JSON response."""
    services: Services = request.app.state.services
    issuer = services.settings.issuer
    try:
        csrf.check(request, request.headers.get(HEADER), issuer)
        body = await _read_object(request)
        browser = request.cookies[csrf.cookie_name(issuer)]  # csrf.check found it
        return await run_in_threadpool(_answered, handle, request, services, browser, body)
    except csrf.CsrfFailed:
        return refusal_response(Refusal(403, "invalid_request", "This page expired or came from another site. "
                                                                "Reload it and try again."))
    except Refusal as refusal:
        return refusal_response(refusal)


def json_endpoint(handle: Handler[Response]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await ceremony(request, handle)
    return endpoint


def _answered(handle: Handler[T], request: Request, services: Services, browser: str, body: dict[str, Any]) -> T:
    try:
        return handle(request, services, browser, body)
    except PasskeyRefused as refused:
        raise Refusal(400, "passkey_refused", refused.message) from refused
    except LoginThrottled as throttled:
        raise Refusal(429, "too_many_attempts", f"Too many failed attempts. Try again in "
                      f"{throttled.retry_after_seconds} seconds.",
                      {"Retry-After": str(throttled.retry_after_seconds)}) from throttled
    except LoginUnverified as unverified:
        raise Refusal(403, "email_unverified", "Confirm your email address first, then sign in.") from unverified
    except LoginFailed as failed:
        raise Refusal(403, "login_refused", "This account cannot sign in.") from failed
    except InvalidInput as invalid:
        raise Refusal(400, "invalid_request", invalid.message) from invalid


async def _read_object(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refusal(415, "invalid_request", "Send application/json.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise Refusal(413, "invalid_request", f"The request must be at most {MAX_BODY_BYTES} bytes.")
    try:
        document = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, "invalid_request", "The request is not a JSON document in UTF-8.") from None
    if not isinstance(document, dict):
        raise Refusal(400, "invalid_request", "The request must be a JSON object.")
    return document


def _text(body: dict[str, Any], name: str, max_length: int) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > max_length or not text.is_acceptable(value):
        raise Refusal(400, "invalid_request", f"'{name}' must be text of at most {max_length} characters.")
    return value


def _ip(request: Request, services: Services) -> str:
    return client_ip(request, tuple(services.settings.trusted_proxies))


def _options(options: str) -> Response:
    return Response(options, media_type="application/json", headers=NO_STORE)


# --- sign in with a passkey alone ------------------------------------------------------------------
def _login_options(request: Request, services: Services, browser: str, body: dict[str, Any]) -> Response:
    return _options(Passkeys(services).authentication_options(browser=browser))


def _login_verify(request: Request, services: Services, browser: str, body: dict[str, Any]) -> Response:
    return_to = navigation.safe_return_to(_text(body, "return_to", navigation.MAX_LENGTH))
    ip = _ip(request, services)
    use = Passkeys(services).authenticate(body.get("credential"), browser=browser, ip=ip,
                                          client_id=navigation.client_id_of(return_to))
    return signed_in(request, JSONResponse({"redirect": return_to}, headers=NO_STORE), use.user.id, amr=use.amr, ip=ip)


# --- a passkey as the second factor after a password (h15-mfa's step page) -------------------------
def _pending(request: Request, services: Services) -> int:
    user_id = mfa.pending_user_id(request, services)
    if user_id is None:
        raise Refusal(401, "no_pending_login", "There is no sign-in waiting for a second factor. Sign in again.")
    return user_id


def _second_factor_options(request: Request, services: Services, browser: str, body: dict[str, Any]) -> Response:
    user_id = _pending(request, services)
    return _options(Passkeys(services).authentication_options(browser=browser, purpose=SECOND_FACTOR, user_id=user_id))


async def second_factor_verify(request: Request) -> Response:
    """Verified like the others; the pending login is then completed by h15-mfa's step."""
    use = await ceremony(request, _second_factor_check)
    if isinstance(use, Response):
        return use
    completed = await mfa.complete_second_factor(request, request.app.state.services, use.user.id, use.amr)
    return _as_json(completed)


def _as_json(completed: Response) -> Response:
    """A redirect (where the login goes next) as `{redirect}` for the script, its cookies kept: a fetch
    must not follow it (it ends at the client's redirect URI, another origin)."""
    location = completed.headers.get("location")
    if not 300 <= completed.status_code < 400 or location is None:
        return completed
    answer = JSONResponse({"redirect": location}, headers=NO_STORE)
    for name, value in completed.raw_headers:
        if name == b"set-cookie":
            answer.raw_headers.append((name, value))
    return answer


def _second_factor_check(request: Request, services: Services, browser: str, body: dict[str, Any]) -> PasskeyUse:
    user_id = _pending(request, services)
    return Passkeys(services).authenticate(
        body.get("credential"), browser=browser, ip=_ip(request, services), purpose=SECOND_FACTOR, user_id=user_id)


# --- register a passkey (signed in) -----------------------------------------------------------------
def _owner(request: Request, services: Services) -> Owner:
    session = BrowserSessions(services).current(request)
    if session is None:
        raise Refusal(401, "login_required", "Your session ended. Sign in again.")
    return Owner(session.user_id, session.username, session.subject)


def _register_options(request: Request, services: Services, browser: str, body: dict[str, Any]) -> Response:
    return _options(Passkeys(services).registration_options(_owner(request, services), browser=browser))


def _register(request: Request, services: Services, browser: str, body: dict[str, Any]) -> Response:
    owner = _owner(request, services)
    name = _text(body, "name", 400)
    info = Passkeys(services).register(owner, body.get("credential"), name=name, browser=browser,
                                       ip=_ip(request, services))
    return JSONResponse({"id": info.id, "name": info.name}, status_code=201, headers=NO_STORE)


login_options = json_endpoint(_login_options)
login_verify = json_endpoint(_login_verify)
second_factor_options = json_endpoint(_second_factor_options)
register_options = json_endpoint(_register_options)
register = json_endpoint(_register)
