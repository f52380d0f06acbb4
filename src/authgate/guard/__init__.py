"""authgate.guard: verify OAuth 2.0 bearer JWTs on the resource server.

Needs only PyJWT (with cryptography) and httpx; nothing of the authgate
server. Framework integrations live in their own modules and import their
framework there: ``authgate.guard.flask``, ``authgate.guard.fastapi``,
``authgate.guard.asgi``, ``authgate.guard.wsgi``, ``authgate.guard.django``,
``authgate.guard.drf``. Tests of an API use ``authgate.testing``.

    from authgate.guard import Guard
    guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")
    claims = guard.verify(token)  # or @guard.requires_auth("post:drinks")
"""

from authgate.guard.claims import Claims
from authgate.guard.config import DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS, GuardConfig
from authgate.guard.errors import (
    GuardError,
    InsufficientPermission,
    InsufficientUserAuthentication,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
)
from authgate.guard.guard import Guard
from authgate.guard.permissions import Requirement
from authgate.guard.verifier import TokenVerifier

__all__ = [
    "DEFAULT_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "Claims",
    "Guard",
    "GuardConfig",
    "GuardError",
    "InsufficientPermission",
    "InsufficientUserAuthentication",
    "InvalidRequest",
    "InvalidToken",
    "KeysUnavailable",
    "MissingToken",
    "Requirement",
    "TokenVerifier",
]
