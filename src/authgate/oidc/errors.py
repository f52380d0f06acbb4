"""Authorization-endpoint errors that OpenID Connect adds to RFC 6749's (OIDC Core §3.1.2.6, §6).

They join the one protocol hierarchy in `authgate.oauth2.errors`; what this
module adds is where an error goes: back to the client, or onto a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from authgate.oauth2.errors import OAuthError


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class RegistrationNotSupported(OAuthError):
    error = "registration_not_supported"


@dataclass(frozen=True)
class ResponseTarget:
    """Where and how the authorization response goes (RFC 6749 §4.1.2; OAuth 2.0 Form Post)."""

    redirect_uri: str
    state: str | None
    response_mode: str  # "query" | "form_post"


class ShowErrorPage(Exception):
    """RFC 6749 §4.1.2.1: with an unknown client or an unregistered redirect URI the
    server MUST NOT redirect; it tells the person on a page instead."""

    def __init__(self, message: str, *, debug: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.debug = debug


class RedirectError(Exception):
    """An error the client learns about through its (verified) redirect URI."""

    def __init__(self, error: OAuthError, target: ResponseTarget) -> None:
        super().__init__(error.error)
        self.error = error
        self.target = target
