"""``Guard``: the one object a resource server creates and decorates with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from authgate.guard import resource_metadata
from authgate.guard.authentication import AuthenticationRequirement
from authgate.guard.bearer import bearer_token
from authgate.guard.claims import Claims
from authgate.guard.config import GuardConfig
from authgate.guard.decorators import Decorator, build_decorator
from authgate.guard.errors import GuardError, log_refusal
from authgate.guard.permissions import PermissionSpec, Requirement
from authgate.guard.verifier import TokenVerifier

_AUTHENTICATED = Requirement()


class Guard:
    """Verifies bearer tokens from one issuer for one API.

    >>> guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")
    >>> @guard.requires_auth("post:drinks")
    ... async def create_drink(claims, request): ...

    Keyword ``settings`` are the fields of ``GuardConfig`` (``algorithms``,
    ``leeway``, ``required_typ``, ...); or pass a whole ``config``.
    """

    def __init__(
        self,
        issuer: str | None = None,
        audience: str | Iterable[str] | None = None,
        *,
        config: GuardConfig | None = None,
        http_client: httpx.Client | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            if issuer is None or audience is None:
                raise TypeError("Guard needs an issuer and an audience (or a config)")
            if not isinstance(audience, str):
                audience = tuple(audience)
            config = GuardConfig(issuer=issuer, audience=audience, **settings)
        self.config = config
        self.verifier = TokenVerifier(config, http_client=http_client)
        #: The realm of every challenge this guard sends (RFC 6750 §3).
        self.realm = config.challenge_realm

    def verify(self, token: str) -> Claims:
        """Verify a bare token (no permission check); raises ``GuardError``."""
        try:
            return self.verifier.verify(token)
        except GuardError as err:
            self._naming_metadata(err)
            raise

    async def verify_async(self, token: str) -> Claims:
        """As ``verify``, without blocking the event loop on a key fetch."""
        try:
            return await self.verifier.verify_async(token)
        except GuardError as err:
            self._naming_metadata(err)
            raise

    def authorize(
        self, authorization: str | None, requirement: Requirement = _AUTHENTICATED
    ) -> Claims:
        """Check an ``Authorization`` header value against ``requirement``."""
        try:
            token = self._token(authorization)
            return self._permitted(self.verifier.verify(token), requirement)
        except GuardError as err:
            self._naming_metadata(err)
            raise

    async def authorize_async(
        self, authorization: str | None, requirement: Requirement = _AUTHENTICATED
    ) -> Claims:
        """As ``authorize``, for async code."""
        try:
            token = self._token(authorization)
            return self._permitted(await self.verifier.verify_async(token), requirement)
        except GuardError as err:
            self._naming_metadata(err)
            raise

    def resource_metadata(self) -> dict[str, Any]:
        """This API's protected resource metadata (RFC 9728 §2); needs ``resource`` in the config."""
        return resource_metadata.document(self.config)

    def _naming_metadata(self, err: GuardError) -> None:
        """Every refusal names this API's metadata document (RFC 9728 §5.1), when it has one."""
        err.resource_metadata = err.resource_metadata or self.config.resource_metadata_url

    def requirement(
        self,
        *permissions: PermissionSpec,
        any_of: Iterable[str] | None = None,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Requirement:
        """What a route needs, its ``acr`` read against this guard's ``acr_values`` order.

        ``acr`` is a minimum: that class or any stronger one (listed after it
        in ``GuardConfig.acr_values``); ``amr`` methods must all be in the
        token; ``max_age`` bounds the seconds since ``auth_time``. Falling
        short is RFC 9470's 401 ``insufficient_user_authentication``.
        """
        authentication = AuthenticationRequirement.of(
            acr=acr, amr=amr, max_age=max_age, ordered_acr_values=self.config.acr_values
        )
        return Requirement.of(*permissions, any_of=any_of, authentication=authentication)

    def requires_auth(
        self,
        *permissions: PermissionSpec,
        any_of: Iterable[str] | None = None,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Decorator:
        """Protect a view that takes ``(claims, request, ...)``.

        ``requires_auth("a", "b")`` or ``requires_auth(["a", "b"])`` need
        both; ``requires_auth(any_of=["a", "b"])`` needs either;
        ``acr``/``amr``/``max_age`` ask for a sign-in strength (see
        ``requirement``). A refusal raises ``GuardError``;
        ``authgate.guard.asgi.GuardMiddleware`` (or the WSGI one) turns it
        into the RFC 6750 response.
        """
        requirement = self.requirement(*permissions, any_of=any_of, acr=acr, amr=amr, max_age=max_age)
        return build_decorator(self, requirement)

    def fastapi(
        self,
        *permissions: PermissionSpec,
        any_of: Iterable[str] | None = None,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Callable[..., Awaitable[Claims]]:
        """A FastAPI dependency: ``claims: Claims = Depends(guard.fastapi("a"))``."""
        from authgate.guard.fastapi import claims_dependency

        requirement = self.requirement(*permissions, any_of=any_of, acr=acr, amr=amr, max_age=max_age)
        return claims_dependency(self, requirement)

    def close(self) -> None:
        """Release the HTTP client used to fetch keys."""
        self.verifier.jwks.close()

    def _token(self, authorization: str | None) -> str:
        try:
            return bearer_token(authorization, self.config.max_token_bytes)
        except GuardError as err:
            log_refusal(err)
            raise

    def _permitted(self, claims: Claims, requirement: Requirement) -> Claims:
        try:
            requirement.check(claims, self.config.acr_values, self.config.clock)
        except GuardError as err:
            log_refusal(err)
            raise
        return claims
