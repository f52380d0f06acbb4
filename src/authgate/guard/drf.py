"""Django REST framework integration: an authentication class and permission classes.

    # settings.py (next to AUTHGATE_GUARD, see authgate.guard.django)
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["authgate.guard.drf.GuardAuthentication"],
    }

    class Drinks(APIView):
        permission_classes = [HasPermission.of("post:drinks")]

        def post(self, request):
            request.auth  # the verified Claims; request.user a TokenUser

DRF instantiates permission classes itself, so ``HasPermission.of(...)`` and
``HasAnyPermission.of(...)`` return classes. A missing token is DRF's 401
with the ``Bearer`` challenge; a bad one 401 ``invalid_token``; a token
without the permission 403 ``insufficient_scope`` (RFC 6750 §3.1), one from
a sign-in too weak for ``acr``/``amr``/``max_age`` 401
``insufficient_user_authentication`` (RFC 9470 §3), each with
the RFC 6750 JSON body and ``WWW-Authenticate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission

from authgate.guard.authentication import AuthenticationRequirement
from authgate.guard.claims import Claims
from authgate.guard.django import settings_guard
from authgate.guard.errors import (
    GuardError,
    InsufficientPermission,
    InsufficientUserAuthentication,
    MissingToken,
    log_refusal,
)
from authgate.guard.guard import Guard
from authgate.guard.permissions import PermissionSpec, Requirement


class GuardRefusal(APIException):  # type: ignore[misc]  # DRF ships no type hints
    """A ``GuardError`` as DRF raises it: same status, RFC 6750 body and challenge."""

    def __init__(self, err: GuardError, realm: str) -> None:
        super().__init__(detail=err.to_dict())
        self.status_code = err.status_code
        # DRF's exception handler sends this as WWW-Authenticate (RFC 6750 §3).
        self.auth_header = err.headers(realm).get("WWW-Authenticate")


class TokenUser:
    """``request.user`` for a bearer token: the subject it speaks for, not a database row."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        #: The subject, or the client for client_credentials tokens.
        self.pk = self.id = self.username = claims.sub or claims.client_id or ""

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"TokenUser({self.username!r})"


class GuardAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Authenticate ``Authorization: Bearer`` requests with the guard.

    ``request.auth`` becomes the verified ``Claims`` and ``request.user``
    what ``get_user`` returns (a ``TokenUser``). Requests without a bearer
    token are left to the next authentication class. Set ``guard`` on a
    subclass to use another guard than ``settings.AUTHGATE_GUARD``'s.
    """

    guard: ClassVar[Guard | None] = None

    def guard_in_use(self) -> Guard:
        return self.guard if self.guard is not None else settings_guard.get()

    def authenticate(self, request: Any) -> tuple[Any, Claims] | None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return None
        guard = self.guard_in_use()
        try:
            claims = guard.authorize(authorization)
        except MissingToken:  # another scheme: the next class may know it
            return None
        except GuardError as err:
            raise GuardRefusal(err, guard.realm) from None
        return self.get_user(claims), claims

    def get_user(self, claims: Claims) -> Any:
        """The ``request.user`` for these claims; override to load your own user."""
        return TokenUser(claims)

    def authenticate_header(self, request: Any) -> str:
        """The challenge DRF sends with 401 when no credentials came (RFC 6750 §3.1)."""
        guard = self.guard_in_use()
        return MissingToken("authentication required").www_authenticate(guard.realm)


class HasPermission(BasePermission):  # type: ignore[misc]
    """Allows requests whose token grants every permission of ``requirement``.

    Use ``HasPermission.of("post:drinks")``; ``HasPermission`` alone asks
    only for a valid token.
    """

    requirement: ClassVar[Requirement] = Requirement()

    @classmethod
    def of(cls, *permissions: PermissionSpec, acr: str | None = None, amr: Iterable[str] | None = None,
           max_age: int | None = None) -> type[HasPermission]:
        """A permission class needing all of ``permissions`` (and the sign-in strength, as ``Guard.requirement``).

        ``acr`` is read against the guard's ``acr_values`` order when a request comes.
        """
        strength = AuthenticationRequirement.of(acr=acr, amr=amr, max_age=max_age)
        return cls._with(Requirement.of(*permissions, authentication=strength))

    @classmethod
    def _with(cls, requirement: Requirement) -> type[HasPermission]:
        return type(f"{cls.__name__}[{requirement}]", (cls,), {"requirement": requirement})

    def has_permission(self, request: Any, view: Any) -> bool:
        claims = request.auth
        if not isinstance(claims, Claims):
            return False  # DRF answers 401 with our challenge, or 403 for other logins
        guard = _guard(request)
        try:
            self.requirement.check(claims, guard.config.acr_values, guard.config.clock)
        except (InsufficientPermission, InsufficientUserAuthentication) as err:
            log_refusal(err)
            raise GuardRefusal(err, guard.realm) from None
        return True


class HasAnyPermission(HasPermission):
    """Allows requests whose token grants at least one of the permissions."""

    @classmethod
    def of(cls, *permissions: PermissionSpec, acr: str | None = None, amr: Iterable[str] | None = None,
           max_age: int | None = None) -> type[HasPermission]:
        """A permission class needing one of ``permissions`` (and the sign-in strength, as ``HasPermission``)."""
        names = [name for spec in permissions
                 for name in ([spec] if isinstance(spec, str) else spec)]
        strength = AuthenticationRequirement.of(acr=acr, amr=amr, max_age=max_age)
        return cls._with(Requirement.of(any_of=names, authentication=strength))


def _guard(request: Any) -> Guard:
    authenticator = request.successful_authenticator
    if isinstance(authenticator, GuardAuthentication):
        return authenticator.guard_in_use()
    return settings_guard.get()


__all__ = [
    "GuardAuthentication",
    "GuardRefusal",
    "HasAnyPermission",
    "HasPermission",
    "TokenUser",
]
