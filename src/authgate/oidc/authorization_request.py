"""Reading an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) into a checked value.

The order matters: the client and its redirect URI are settled first, and a
failure there is shown on a page (`ShowErrorPage`); only once the redirect
URI is known to belong to the client may later errors go back to it
(`RedirectError`, RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from authgate.oauth2 import pkce
from authgate.oauth2.client_directory import ClientRecord
from authgate.oauth2.errors import (
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from authgate.oauth2.form import Form
from authgate.oidc.claims import OPENID
from authgate.oidc.errors import (
    RedirectError,
    RegistrationNotSupported,
    RequestNotSupported,
    RequestUriNotSupported,
    ResponseTarget,
    ShowErrorPage,
)
from authgate.oidc.scopes import RequestedAccess, resolve_access
from authgate.registration.metadata import LOOPBACK_HOSTS

if TYPE_CHECKING:
    from authgate.services import Services

RESPONSE_MODES = ("query", "form_post")
PROMPTS = {"none", "login", "consent"}


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientRecord
    target: ResponseTarget
    access: RequestedAccess
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    id_token_hint: str | None
    acr_values: tuple[str, ...]  # OIDC Core §3.1.2.1 acr_values, and §5.5.1.1 `acr` values of a claims request

    @property
    def scope(self) -> tuple[str, ...]:
        return self.access.scope


def parse(services: Services, params: Mapping[str, Sequence[str]]) -> AuthorizationRequest:
    try:
        # RFC 6749 §3.1: no parameter twice (`resource` aside, RFC 8707); empty means omitted.
        form = Form((name, value) for name, values in params.items() for value in values)
    except InvalidRequest as error:
        raise ShowErrorPage(f"The request is malformed: {error.description}") from None
    target, client = _client_and_target(services, form)
    try:
        return _parse_rest(services, form, client, target)
    except OAuthError as error:
        raise RedirectError(error, target) from None


def _client_and_target(services: Services, form: Form) -> tuple[ResponseTarget, ClientRecord]:
    client_id, redirect_uri = form.get("client_id"), form.get("redirect_uri")
    if client_id is None:
        raise ShowErrorPage("The request names no application (client_id is missing).")
    client = services.oauth2.clients.get(client_id)
    if client is None or client.disabled:
        raise ShowErrorPage("The application that sent you here is not known to this server.",
                            debug=f"unknown or disabled client {client_id[:100]!r}")
    if redirect_uri is None:
        if OPENID in (form.get("scope") or "").split():
            # OIDC Core §3.1.2.1: redirect_uri is REQUIRED in OpenID requests.
            raise ShowErrorPage("The request has no redirect_uri, which OpenID Connect requires.")
        if len(client.redirect_uris) != 1:
            # RFC 6749 §3.1.2.3: may be omitted only when exactly one is registered.
            raise ShowErrorPage("The request has no redirect_uri and the application has several.")
        redirect_uri = client.redirect_uris[0]
    elif redirect_uri not in client.redirect_uris and not _loopback_port_varies(client, redirect_uri):
        # RFC 6749 §3.1.2.3 / OAuth 2.1 §2.3.1: exact string comparison.
        raise ShowErrorPage("The address to return to (redirect_uri) is not registered for this application.",
                            debug=f"unregistered redirect_uri for {client_id}")
    response_mode = form.get("response_mode") or "query"
    target = ResponseTarget(
        redirect_uri, form.get("state"), response_mode if response_mode in RESPONSE_MODES else "query"
    )
    if response_mode not in RESPONSE_MODES:
        raise RedirectError(InvalidRequest("response_mode must be query or form_post."), target)
    return target, client


def _loopback_port_varies(client: ClientRecord, redirect_uri: str) -> bool:
    """RFC 8252 §7.3: a native app's loopback redirect URI may name any port at request time.

    Applied to dynamically registered clients (the MCP SDK listens on a random port);
    everything but the port must match a registered `http://127.0.0.1/…` or `http://[::1]/…` URI.
    """
    if not client.dynamic:
        return False
    try:
        requested = urlsplit(redirect_uri)
        _ = requested.port  # a port that is not a number raises ValueError here
    except ValueError:
        return False
    if requested.scheme != "http" or requested.hostname not in LOOPBACK_HOSTS:
        return False
    for registered in map(urlsplit, client.redirect_uris):
        if (registered.scheme, registered.hostname, registered.path, registered.query) == (
                requested.scheme, requested.hostname, requested.path, requested.query):
            return True
    return False


def _parse_rest(services: Services, form: Form, client: ClientRecord, target: ResponseTarget) -> AuthorizationRequest:
    # OIDC Core §6.1/§6.2: request objects are not supported, and the error says so.
    if "request" in form:
        raise RequestNotSupported("Request objects are not supported.")
    if "request_uri" in form:
        raise RequestUriNotSupported("request_uri is not supported.")
    if "registration" in form:
        raise RegistrationNotSupported("The registration parameter is not supported.")
    response_type = form.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required.")  # RFC 6749 §4.1.1
    if response_type != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("This client may not use the authorization code flow.")
    challenge, method = form.get("code_challenge"), form.get("code_challenge_method")
    pkce.check_challenge(challenge, method, required=not client.is_confidential)  # RFC 7636 §4.4.1
    prompt = frozenset((form.get("prompt") or "").split())
    if not prompt <= PROMPTS:
        raise InvalidRequest("prompt has an unsupported value.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")  # OIDC Core §3.1.2.1
    return AuthorizationRequest(
        client=client, target=target, access=resolve_access(services, client, form),
        nonce=form.get("nonce"), code_challenge=challenge, code_challenge_method=method,
        prompt=prompt, max_age=_max_age(form.get("max_age")), login_hint=form.get("login_hint"),
        id_token_hint=form.get("id_token_hint"),
        acr_values=(*(form.get("acr_values") or "").split(), *_claims_acr_values(form.get("claims"))),
    )


def _max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidRequest("max_age must be a non-negative integer.")
    return int(raw)


def _claims_acr_values(raw: str | None) -> tuple[str, ...]:
    """OIDC Core §5.5: only `acr` is honoured from a claims request (its `value` or `values`); the rest is ignored."""
    if raw is None:
        return ()
    try:
        claims = json.loads(raw)
    except ValueError:
        raise InvalidRequest("claims is not valid JSON.") from None
    if not isinstance(claims, dict):
        raise InvalidRequest("claims must be a JSON object.")
    id_token = claims.get("id_token")
    acr = id_token.get("acr") if isinstance(id_token, dict) else None
    if not isinstance(acr, dict):
        return ()
    values = acr.get("values", [acr.get("value")])
    return tuple(value for value in values if isinstance(value, str)) if isinstance(values, list) else ()
