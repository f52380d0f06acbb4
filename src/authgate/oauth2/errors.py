"""One error hierarchy for the protocol: a class per RFC error code, each knowing how it renders.

`description` goes to the client; `debug` only to the log. Anything that is
not an OAuthError becomes `server_error` at the edge, without a traceback.
"""

from __future__ import annotations

from typing import ClassVar

from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(
        self, description: str | None = None, *, debug: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.debug = debug
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers={**NO_STORE, **self.headers})


# RFC 6749 §5.2 (token endpoint)
class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: 401 with WWW-Authenticate when the client tried HTTP authentication."""

    error = "invalid_client"
    status_code = 401

    def __init__(
        self,
        description: str | None = "Client authentication failed.",
        *,
        basic: bool = False,
        debug: str | None = None,
    ) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="authgate", charset="UTF-8"'} if basic else {}
        super().__init__(description, debug=debug, headers=headers)


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class PayloadTooLarge(OAuthError):
    """A body over the endpoint's limit, refused before it is parsed."""

    error = "invalid_request"
    status_code = 413


class MethodNotAllowed(OAuthError):
    """RFC 6749 §3.2: the token endpoint (and its siblings) take POST only."""

    error = "invalid_request"
    status_code = 405

    def __init__(self, allowed: str = "POST, OPTIONS") -> None:
        super().__init__("This endpoint accepts POST only.", headers={"Allow": allowed})


# RFC 8707 §2
class InvalidTarget(OAuthError):
    error = "invalid_target"


# RFC 6749 §4.1.2.1 (authorization endpoint)
class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503

    def __init__(
        self,
        description: str | None = "The service is temporarily unavailable; retry shortly.",
        *,
        retry_after: int = 5,
    ) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})


class SlowDown(OAuthError):
    """Too many failed attempts: 429 with Retry-After (RFC 6585 §4)."""

    error = "invalid_grant"
    status_code = 429

    def __init__(self, retry_after: int, description: str = "Too many failed attempts; try again later.") -> None:
        super().__init__(description, headers={"Retry-After": str(max(1, retry_after))})


# OIDC Core §3.1.2.6
class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


# RFC 6750 §3.1 (protected resources such as userinfo)
class InvalidToken(OAuthError):
    error = "invalid_token"
    status_code = 401

    def __init__(
        self, description: str | None = "The access token is invalid or expired.", *, debug: str | None = None
    ) -> None:
        value = f'Bearer realm="authgate", error="invalid_token", error_description="{description}"'
        super().__init__(description, debug=debug, headers={"WWW-Authenticate": value})


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status_code = 403

    def __init__(self, scope: str) -> None:
        value = f'Bearer realm="authgate", error="insufficient_scope", scope="{scope}"'
        super().__init__(f"The access token lacks scope {scope}.", headers={"WWW-Authenticate": value})
