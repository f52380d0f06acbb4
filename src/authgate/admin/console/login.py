"""The console logs its admins in as any OAuth client would: authorization code with PKCE, then RP logout.

The console is the registered public client `authgate-console` (created by
`authgate init`) with redirect URI `{issuer}/admin/callback`. The code is
exchanged at the server's own token endpoint, called in-process through the
ASGI app (the same endpoint, the same checks, without a network hop that a
proxy or TLS set-up could break). Tokens stay on the server, in the console
session; the browser gets only an HttpOnly cookie.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authgate import text
from authgate.accounts.users import user_by_subject
from authgate.admin.auth import identify
from authgate.admin.console.sessions import PENDING_FOR, ConsoleSessions, PendingLogin
from authgate.admin.console.view import Console, console_sessions, view
from authgate.bootstrap import CONSOLE_CLIENT_ID
from authgate.guard.errors import GuardError
from authgate.http.rendering import redirect, render
from authgate.http.sessions import is_secure
from authgate.oauth2 import jws
from authgate.oauth2.keys import ID_TOKEN_ALGORITHM
from authgate.oauth2.pkce import S256, s256
from authgate.services import Services
from authgate.storage import limits

logger = logging.getLogger("authgate.admin.console")
SCOPE = "openid profile"


def callback_uri(issuer: str) -> str:
    return f"{issuer}/admin/callback"


def signed_out_uri(issuer: str) -> str:
    return f"{issuer}/admin/signed-out"


async def login(request: Request) -> Response:
    """Start an authorization request (RFC 6749 §4.1.1) with PKCE (RFC 7636 §4.3) and an OIDC nonce."""
    sessions = console_sessions(request)
    value, pending = await run_in_threadpool(sessions.begin, safe_return(request.query_params.get("next")))
    query = urlencode({
        "response_type": "code", "client_id": CONSOLE_CLIENT_ID, "redirect_uri": callback_uri(sessions.issuer),
        "scope": SCOPE, "state": pending.state, "nonce": pending.nonce,
        "code_challenge": s256(pending.code_verifier), "code_challenge_method": S256,
    })
    response = RedirectResponse(
        f"{sessions.issuer}/authorize?{query}", status_code=303, headers={"Cache-Control": "no-store"}
    )
    _set_cookie(response, sessions, value, int(PENDING_FOR.total_seconds()))
    return response


async def callback(request: Request) -> Response:
    sessions = console_sessions(request)
    value = request.cookies.get(sessions.cookie)
    pending = await run_in_threadpool(sessions.pending, value)
    params = request.query_params
    if pending is None or value is None:
        return _failed(request, "This sign-in link expired or was already used.")
    # RFC 6749 §10.12: the state binds the response to this browser's request.
    if not hmac.compare_digest(params.get("state", "").encode(), pending.state.encode()):
        return _failed(request, "The sign-in response did not match this browser's request.")
    if params.get("iss") not in (None, sessions.issuer):  # RFC 9207 §2.4
        return _failed(request, "The sign-in response came from another issuer.")
    if params.get("error"):
        return _failed(request, f"Sign-in did not complete ({params.get('error', '')[:60]}).")
    tokens = await _exchange(request, sessions, params.get("code", ""), pending)
    if tokens is None:
        return _failed(request, "The sign-in could not be completed. Please try again.")
    return await run_in_threadpool(_start, request, sessions, value, pending, tokens)


async def _exchange(
    request: Request, sessions: ConsoleSessions, code: str, pending: PendingLogin
) -> dict[str, Any] | None:
    """RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5), at the token endpoint of this very app."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(sessions.issuer))
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=origin, timeout=30) as client:
        response = await client.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code[:2000], "redirect_uri": callback_uri(sessions.issuer),
            "client_id": CONSOLE_CLIENT_ID, "code_verifier": pending.code_verifier,
        })
    if response.status_code != 200:
        logger.info("console: code exchange refused: %s %s", response.status_code, response.text[:200])
        return None
    body: dict[str, Any] = response.json()
    return body


def _start(
    request: Request, sessions: ConsoleSessions, value: str, pending: PendingLogin, tokens: dict[str, Any]
) -> Response:
    services = sessions.services
    try:
        id_claims = _id_token_claims(services, str(tokens.get("id_token", "")), pending.nonce)
        caller = identify(services, str(tokens.get("access_token", "")))
    except (jws.OwnTokenInvalid, GuardError, LookupError) as error:
        logger.info("console: tokens refused: %s", error)
        return _failed(request, "The sign-in could not be completed. Please try again.")
    user_id = _user_id(services, caller.subject)
    if caller.subject != str(id_claims["sub"]) or user_id is None:
        return _failed(request, "The sign-in could not be completed. Please try again.")
    if not caller.actor.startswith("user:") or not caller.permissions:
        sessions.end(value)
        return render(request, "console/signed_out.html", {
            "title": "No access",
            "message": "Your account has no administration permissions. Ask an administrator for a role.",
        }, status_code=403)
    fresh = sessions.complete(
        value, user_id=user_id, username=caller.actor.removeprefix("user:"),
        access_token=str(tokens["access_token"]), id_token=str(tokens["id_token"]),
        expires_at=datetime.fromtimestamp(int(caller.claims["exp"]), UTC),
    )
    response = redirect(pending.return_to)
    _set_cookie(response, sessions, fresh, max(60, int(caller.claims["exp"]) - int(caller.claims["iat"])))
    return response


def _user_id(services: Services, subject: str) -> int | None:
    """The console session names its user by id (deleting the user ends it)."""
    with services.database.reader() as session:
        user = user_by_subject(session, subject)
        return user.id if user is not None else None


def _id_token_claims(services: Services, token: str, nonce: str) -> dict[str, Any]:
    """OIDC Core §3.1.3.7: signed by us with the ID token key, for this client, unexpired, our nonce."""
    claims = jws.verify(services.keys, token, issuer=services.settings.issuer, access_token=False,
                        require=("sub", "exp", "nonce"), audience=CONSOLE_CLIENT_ID, algorithm=ID_TOKEN_ALGORITHM,
                        leeway=0)
    if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):  # OIDC Core §3.1.3.7 item 11
        raise jws.OwnTokenInvalid("nonce mismatch")
    return claims


def _logout(console: Console) -> Response:
    """End the console session, revoke its access token, and end the hosted-login session too (RP-initiated logout)."""
    console.sessions.end(console.cookie)
    console.services.access_tokens.revoke(console.caller.claims)
    query = urlencode({"id_token_hint": console.login.id_token, "client_id": CONSOLE_CLIENT_ID,
                       "post_logout_redirect_uri": signed_out_uri(console.sessions.issuer)})
    response = redirect(f"{console.sessions.issuer}/logout?{query}")
    _clear_cookie(response, console.sessions)
    return response


logout = view(None, _logout)


async def signed_out(request: Request) -> Response:
    return render(
        request, "console/signed_out.html", {"title": "Signed out", "message": "You have signed out of the console."}
    )


def safe_return(target: str | None) -> str:
    """Only a console path: never another site (no open redirect), and text its session holds."""
    if not target or not target.startswith("/admin") or target.startswith("//") or "\\" in target:
        return "/admin"
    if len(target) > min(1000, limits.CONSOLE_RETURN_TO) or not text.is_acceptable(target):
        return "/admin"
    return target


def _failed(request: Request, message: str) -> Response:
    return render(request, "console/signed_out.html", {"title": "Sign-in failed", "message": message}, status_code=400)


def _set_cookie(response: Response, sessions: ConsoleSessions, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax (the redirect back from /authorize carries it), Secure over https."""
    response.set_cookie(sessions.cookie, value, max_age=max_age, path="/", secure=is_secure(sessions.issuer),
                        httponly=True, samesite="lax")


def _clear_cookie(response: Response, sessions: ConsoleSessions) -> None:
    response.delete_cookie(sessions.cookie, path="/", secure=is_secure(sessions.issuer), httponly=True, samesite="lax")

