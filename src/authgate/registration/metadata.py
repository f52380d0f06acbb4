"""Client metadata (RFC 7591 §2) read from a registration request into a checked value.

One function, `parse_client_metadata`, holds every rule; lengths come from
the `Client` model's columns so the database never refuses what passed here.

Rules beyond RFC 7591's own:

- redirect URIs are https, or plain http on a loopback address literal
  (`127.0.0.1`, `[::1]`; RFC 8252 §7.3, §8.3: `localhost` is not accepted),
  absolute, without a fragment (RFC 6749 §3.1.2) and without user info;
- grants are `authorization_code` and `refresh_token` only, with
  `response_types` `code` (RFC 7591 §2.1 keeps the two consistent);
- under open registration the client is public (`token_endpoint_auth_method`
  `none`, RFC 7591 §2): a secret handed to anyone who asks would prove nothing;
- `scope` is a space-separated list of scope tokens (RFC 6749 §3.3): OpenID
  scopes and API permission names. It is the client's *default* scope, used
  when an authorization request names none, never a ceiling: the person's own
  permissions are the ceiling (see docs/guides/mcp.md);
- fields this server does not understand are ignored (RFC 7591 §2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authgate.oauth2.errors import InvalidScope
from authgate.oauth2.scopes import parse_scope
from authgate.registration.errors import InvalidClientMetadata, InvalidRedirectUri
from authgate.storage.models import Client

MAX_BODY_BYTES = 16 * 1024
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
GRANT_TYPES = ("authorization_code", "refresh_token")
PUBLIC_AUTH_METHOD = "none"
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
APPLICATION_TYPES = ("web", "native")
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ClientMetadata:
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    client_name: str | None
    scope: str | None
    application_type: str

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_AUTH_METHOD

    @property
    def response_types(self) -> tuple[str, ...]:
        return ("code",) if "authorization_code" in self.grant_types else ()


def _column_length(column: Any) -> int:
    length = column.property.columns[0].type.length
    assert isinstance(length, int)
    return length


def parse_client_metadata(body: bytes, *, public_only: bool) -> ClientMetadata:
    """Read a registration (or RFC 7592 update) body; raise the RFC 7591 §3.2.2 error for the first fault."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidClientMetadata(f"The metadata must be at most {MAX_BODY_BYTES} bytes.")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidClientMetadata("The body must be a JSON object.") from None
    if not isinstance(document, dict):
        raise InvalidClientMetadata("The body must be a JSON object.")
    grant_types = _grant_types(document)
    auth_method = _string(document, "token_endpoint_auth_method", 40) or "client_secret_basic"  # RFC 7591 §2
    if auth_method not in (PUBLIC_AUTH_METHOD, *SECRET_AUTH_METHODS):
        raise InvalidClientMetadata(f"token_endpoint_auth_method {auth_method!r} is not supported.")
    if public_only and auth_method != PUBLIC_AUTH_METHOD:
        raise InvalidClientMetadata("Open registration creates public clients only: "
                                    "token_endpoint_auth_method must be none.")
    application_type = _string(document, "application_type", 20) or "web"
    if application_type not in APPLICATION_TYPES:
        raise InvalidClientMetadata("application_type must be web or native.")
    return ClientMetadata(
        redirect_uris=_redirect_uris(document, required="authorization_code" in grant_types),
        grant_types=grant_types, token_endpoint_auth_method=auth_method,
        client_name=_string(document, "client_name", _column_length(Client.name)),
        scope=_scope(document), application_type=application_type,
    )


def _string(document: dict[str, Any], name: str, max_length: int) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise InvalidClientMetadata(f"{name} must be a non-empty string of at most {max_length} characters.")
    return value


def _string_list(document: dict[str, Any], name: str, max_items: int) -> list[str] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of at most {max_items} strings.")
    return list(dict.fromkeys(value))


def _grant_types(document: dict[str, Any]) -> tuple[str, ...]:
    grant_types = _string_list(document, "grant_types", 5) or ["authorization_code"]  # RFC 7591 §2 default
    unknown = [grant for grant in grant_types if grant not in GRANT_TYPES]
    if unknown:
        raise InvalidClientMetadata(f"grant type {unknown[0][:60]!r} is not supported; "
                                    f"supported: {', '.join(GRANT_TYPES)}.")
    response_types = _string_list(document, "response_types", 5) or ["code"]
    if response_types != ["code"]:
        raise InvalidClientMetadata("response_types must be [\"code\"].")
    if "authorization_code" not in grant_types:
        # RFC 7591 §2.1: response_type code goes with the authorization_code grant.
        raise InvalidClientMetadata("grant_types must include authorization_code.")
    return tuple(grant_types)


def _redirect_uris(document: dict[str, Any], *, required: bool) -> tuple[str, ...]:
    try:
        uris = _string_list(document, "redirect_uris", MAX_REDIRECT_URIS)
    except InvalidClientMetadata as error:
        raise InvalidRedirectUri(error.description) from None
    if not uris:
        if required:
            # RFC 7591 §2: redirection-based grants need redirect URIs.
            raise InvalidRedirectUri("redirect_uris is required for the authorization_code grant.")
        return ()
    return tuple(check_redirect_uri(uri) for uri in uris)


def check_redirect_uri(uri: str) -> str:
    """https, or http on a loopback IP literal; absolute, no fragment, no user info."""
    if len(uri) > MAX_URI_LENGTH or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in uri):
        raise InvalidRedirectUri("A redirect URI is too long or holds spaces or control characters.")
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises on a malformed port
    except ValueError:
        raise InvalidRedirectUri("A redirect URI is malformed.") from None
    if "#" in uri:
        raise InvalidRedirectUri("A redirect URI must not have a fragment.")  # RFC 6749 §3.1.2
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username is not None:
        raise InvalidRedirectUri("A redirect URI must be an https URL, or http on a loopback address.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        # RFC 8252 §8.3: plain http only for the loopback interface, by IP literal.
        raise InvalidRedirectUri("Plain http redirect URIs must use 127.0.0.1 or [::1].")
    del port
    return uri


def _scope(document: dict[str, Any]) -> str | None:
    scope = _string(document, "scope", _column_length(Client.registered_scope))
    if scope is None:
        return None
    try:
        requested = parse_scope(scope)
    except InvalidScope as error:
        raise InvalidClientMetadata(f"scope: {error.description}") from None
    return " ".join(requested.names())
