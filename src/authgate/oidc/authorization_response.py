"""Sending the authorization response back to the client (RFC 6749 §4.1.2, §4.1.2.1).

`query`: a 302 to the redirect URI with the parameters added to its query
(RFC 6749 §3.1.2 keeps any query it already has). `form_post`: an HTML page
that POSTs them (OAuth 2.0 Form Post Response Mode §2), submitted by a
nonce'd script, or by a button when JavaScript is off. Every response names
the issuer (RFC 9207 §2) and echoes `state` (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authgate.http.rendering import new_nonce, render
from authgate.oauth2.errors import OAuthError
from authgate.oidc.errors import ResponseTarget


def success(request: Request, target: ResponseTarget, code: str) -> Response:
    return _send(request, target, {"code": code})


def failure(request: Request, target: ResponseTarget, error: OAuthError) -> Response:
    return _send(request, target, error.body())


def _send(request: Request, target: ResponseTarget, values: dict[str, str]) -> Response:
    params = dict(values)
    if target.state is not None:
        params["state"] = target.state
    params["iss"] = request.app.state.services.settings.issuer  # RFC 9207 §2
    if target.response_mode == "form_post":
        nonce = new_nonce()
        return render(request, "form_post.html", {"action": target.redirect_uri, "params": params}, script_nonce=nonce)
    return RedirectResponse(
        with_query(target.redirect_uri, params), status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
