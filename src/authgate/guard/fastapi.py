"""FastAPI integration: a dependency that returns the verified claims.

>>> @app.post("/drinks")
... async def create_drink(claims: Claims = Depends(guard.fastapi("post:drinks"))): ...

FastAPI is imported here only, never by ``authgate.guard`` itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from authgate.guard.claims import Claims
from authgate.guard.errors import GuardError
from authgate.guard.permissions import Requirement

if TYPE_CHECKING:
    from authgate.guard.guard import Guard

# Declares the bearer scheme in the OpenAPI document; the guard itself
# reads the header, so a malformed one gets the RFC 6750 answer.
_bearer_scheme = HTTPBearer(auto_error=False, description="Bearer access token (RFC 6750)")


def claims_dependency(guard: Guard, requirement: Requirement) -> Callable[..., Awaitable[Claims]]:
    """Build the dependency; usually through ``guard.fastapi(...)``."""

    async def verified_claims(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(_bearer_scheme),
    ) -> Claims:
        try:
            return await guard.authorize_async(request.headers.get("authorization"), requirement)
        except GuardError as err:
            # RFC 6750 §3: 401/403 with the WWW-Authenticate challenge.
            raise HTTPException(
                err.status_code, detail=err.to_dict(), headers=err.headers(guard.realm)
            ) from None

    return verified_claims
