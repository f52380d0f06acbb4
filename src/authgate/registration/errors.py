"""The registration endpoint's errors (RFC 7591 §3.2.2), in the protocol's one hierarchy."""

from __future__ import annotations

from authgate.oauth2.errors import OAuthError


class InvalidRedirectUri(OAuthError):
    """RFC 7591 §3.2.2: the value of one or more redirection URIs is invalid."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 §3.2.2: a metadata field is invalid (or the body is not a JSON object)."""

    error = "invalid_client_metadata"


class RegistrationRateLimited(OAuthError):
    """Too many registrations from one address: 429 with Retry-After (RFC 6585 §4)."""

    error = "invalid_request"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many registrations from this address; try again later.",
                         headers={"Retry-After": str(max(1, retry_after))})
