"""Bearer credentials on the server's own protected endpoints (userinfo, client registration, metrics).

The header is read by the one bearer parser, the guard's (`authgate.guard.bearer`, RFC 6750 §2.1); this
module only answers its refusals in the OAuth error shape the endpoints speak.
"""

from __future__ import annotations

from authgate.guard import bearer
from authgate.oauth2 import jws
from authgate.oauth2.errors import InvalidRequest, InvalidToken


def credentials(authorization: str | None) -> str | None:
    """The bearer token of an ``Authorization`` header, or None when it carries none.

    No header or another scheme carries no bearer credentials: None, so that a request with none at all
    gets the challenge without an error code (RFC 6750 §3.1); ``Bearer`` without exactly one token is
    `invalid_request`; an over-long one is `invalid_token`.
    """
    try:
        return bearer.bearer_token(authorization, jws.MAX_TOKEN_BYTES)
    except bearer.MissingToken:
        return None
    except bearer.InvalidRequest as error:
        raise InvalidRequest(error.description) from None
    except bearer.InvalidToken as error:
        raise InvalidToken(debug=error.description) from None
