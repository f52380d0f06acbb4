"""The guard's errors, each rendering itself as an RFC 6750 §3 challenge.

Every error carries what the caller may see (``error``, ``description``,
``status_code``) and renders the ``WWW-Authenticate`` header and a JSON body
the same way in every integration. The description is always one of our own
fixed strings: nothing taken from the token or the request ever reaches a
header, so a hostile ``kid`` cannot inject quotes or line breaks.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

logger = logging.getLogger("authgate.guard")

# RFC 6750 §3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E.
_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def _quoted(value: str) -> str:
    return '"' + _UNSAFE.sub("?", value) + '"'


class GuardError(Exception):
    """Base of every refusal the guard makes; ``str(err)`` is the reason."""

    status_code: ClassVar[int] = 401
    error: ClassVar[str | None] = None

    def __init__(self, description: str, *, scope: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.scope = scope
        #: The protected resource metadata URL (RFC 9728 §5.1), set by the guard that refused.
        self.resource_metadata: str | None = None

    def www_authenticate(self, realm: str) -> str:
        """The challenge for the ``WWW-Authenticate`` header (RFC 6750 §3)."""
        parts = [f"realm={_quoted(realm)}"]
        if self.error is not None:
            parts.append(f"error={_quoted(self.error)}")
            parts.append(f"error_description={_quoted(self.description)}")
        if self.scope:
            parts.append(f"scope={_quoted(self.scope)}")
        if self.resource_metadata:
            parts.append(f"resource_metadata={_quoted(self.resource_metadata)}")  # RFC 9728 §5.1
        return "Bearer " + ", ".join(parts)

    def headers(self, realm: str) -> dict[str, str]:
        """Response headers: the challenge on 401 and 403, none otherwise."""
        if self.status_code in (401, 403):
            return {"WWW-Authenticate": self.www_authenticate(realm)}
        return {}

    def to_dict(self) -> dict[str, str]:
        """A JSON body in the OAuth error shape (RFC 6749 §5.2 field names)."""
        if self.error is None:  # RFC 6750 §3.1: no error code without credentials
            return {"error_description": self.description}
        body = {"error": self.error, "error_description": self.description}
        if self.scope:
            body["scope"] = self.scope
        return body


class MissingToken(GuardError):
    """No bearer credentials at all.

    RFC 6750 §3.1: when the request lacks any authentication information the
    resource server SHOULD NOT include an error code in the challenge.
    """

    status_code = 401
    error = None


class InvalidRequest(GuardError):
    """A malformed ``Authorization`` header (RFC 6750 §3.1 ``invalid_request``)."""

    status_code = 400
    error = "invalid_request"


class InvalidToken(GuardError):
    """The token is expired, forged, malformed or not for us (RFC 6750 §3.1)."""

    status_code = 401
    error = "invalid_token"


class InsufficientPermission(GuardError):
    """A valid token that lacks what the route needs (RFC 6750 §3.1).

    ``scope`` names the permissions needed, space-separated as RFC 6750 §3
    asks of the ``scope`` attribute.
    """

    status_code = 403
    error = "insufficient_scope"


class InsufficientUserAuthentication(GuardError):
    """A valid token from a sign-in too weak or too old for the route (RFC 9470 §3).

    The challenge names what would do: ``acr_values`` (the acceptable classes,
    space-separated, weakest first) and ``max_age`` (seconds), so the client
    can ask the authorization server for exactly that and retry.
    """

    status_code = 401
    error = "insufficient_user_authentication"

    def __init__(self, description: str, *, acr_values: str | None = None, max_age: int | None = None) -> None:
        super().__init__(description)
        self.acr_values = acr_values
        self.max_age = max_age

    def www_authenticate(self, realm: str) -> str:
        challenge = super().www_authenticate(realm)
        if self.acr_values:
            challenge += f", acr_values={_quoted(self.acr_values)}"
        if self.max_age is not None:
            challenge += f', max_age="{self.max_age}"'
        return challenge

    def to_dict(self) -> dict[str, str]:
        body = super().to_dict()
        if self.acr_values:
            body["acr_values"] = self.acr_values
        if self.max_age is not None:
            body["max_age"] = str(self.max_age)
        return body


class KeysUnavailable(GuardError):
    """The issuer's keys were never obtained: 503, the token may well be fine."""

    status_code = 503
    error = "temporarily_unavailable"


def log_refusal(err: GuardError) -> None:
    """The one log line per refusal: status, code and reason, never the token."""
    logger.log(
        logging.DEBUG if isinstance(err, MissingToken) else logging.INFO,
        "authgate.guard: refused %d %s: %s",
        err.status_code, err.error or "no_token", err.description,
    )


__all__ = [
    "GuardError",
    "InsufficientPermission",
    "InsufficientUserAuthentication",
    "InvalidRequest",
    "InvalidToken",
    "KeysUnavailable",
    "MissingToken",
    "log_refusal",
]
