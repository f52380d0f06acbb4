"""Reading the bearer token from an ``Authorization`` header (RFC 6750 §2.1)."""

from __future__ import annotations

from authgate.guard.errors import InvalidRequest, InvalidToken, MissingToken

__all__ = ["InvalidRequest", "InvalidToken", "MissingToken", "bearer_token"]


def bearer_token(authorization: str | None, max_token_bytes: int) -> str:
    """The token in ``Authorization: Bearer <token>``.

    No header, or another scheme, is a request without bearer credentials:
    ``MissingToken``, answered without an error code (RFC 6750 §3.1). A
    ``Bearer`` header with no token, or with more than one, is malformed
    (``invalid_request``, RFC 6750 §3.1). What the token itself contains is
    the verifier's business, so a garbled token is ``invalid_token``.
    """
    if authorization is None:
        raise MissingToken("authentication required")
    scheme, _, credentials = authorization.strip().partition(" ")
    # RFC 7235 §2.1: the auth-scheme is case-insensitive.
    if scheme.lower() != "bearer":
        raise MissingToken("bearer token required")
    credentials = credentials.strip()
    if len(credentials) > max_token_bytes:
        raise InvalidToken("token too large")
    if not credentials or " " in credentials:
        raise InvalidRequest("malformed Authorization header: expected 'Bearer <token>'")
    return credentials
