"""Django integration: the guard from settings, a view decorator, middleware.

    # settings.py
    AUTHGATE_GUARD = {"ISSUER": "http://127.0.0.1:8000", "AUDIENCE": "https://coffee.example/api"}

    # views.py
    from authgate.guard.django import requires_auth

    @requires_auth("post:drinks")
    def create_drink(claims, request): ...

As with every other integration the view takes the verified claims first,
then what Django passes (``request``, then the URL's arguments). Sync and
async views alike; a refusal is the RFC 6750 §3 response (JSON body and
``WWW-Authenticate``). Django is imported here only, never by
``authgate.guard`` itself.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse

from authgate.guard.authentication import AuthenticationRequirement
from authgate.guard.claims import Claims
from authgate.guard.config import GuardConfig
from authgate.guard.decorators import Decorator, HeaderSource, build_decorator
from authgate.guard.errors import GuardError, MissingToken
from authgate.guard.guard import Guard
from authgate.guard.permissions import PermissionSpec, Requirement

#: The Django setting: a dict of ``GuardConfig`` fields, in upper case.
SETTING = "AUTHGATE_GUARD"
_FIELDS = frozenset(field.name for field in dataclasses.fields(GuardConfig))


def config_from_settings(values: Mapping[str, Any]) -> GuardConfig:
    """``{"ISSUER": ..., "AUDIENCE": ..., "LEEWAY": 10}`` to a ``GuardConfig``.

    Unknown or missing keys are a configuration error, raised as Django's
    ``ImproperlyConfigured`` when the guard is first used.
    """
    unknown = sorted(key for key in values if key != key.upper() or key.lower() not in _FIELDS)
    if unknown:
        known = ", ".join(sorted(name.upper() for name in _FIELDS))
        raise ImproperlyConfigured(f"{SETTING} has unknown keys {unknown}; known keys: {known}")
    fields: dict[str, Any] = {
        key.lower(): tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
    }
    try:
        return GuardConfig(**fields)
    except (TypeError, ValueError) as err:
        raise ImproperlyConfigured(f"{SETTING}: {err}") from err


class SettingsGuard:
    """The ``Guard`` that ``settings.AUTHGATE_GUARD`` describes, built on first use.

    Nothing happens at import; the guard is made once, on the first request,
    and made again only if the setting is replaced (``override_settings``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[object, Guard] | None = None

    def get(self) -> Guard:
        """The guard for the current settings."""
        configured = getattr(settings, SETTING, None)
        built = self._built
        if built is not None and built[0] is configured:
            return built[1]
        if not isinstance(configured, Mapping):
            raise ImproperlyConfigured(
                f"settings.{SETTING} must be a dict such as "
                '{"ISSUER": "https://issuer.example", "AUDIENCE": "https://api.example"}'
            )
        with self._lock:
            if self._built is None or self._built[0] is not configured:
                self._built = (configured, Guard(config=config_from_settings(configured)))
            return self._built[1]

    @property
    def realm(self) -> str:
        """The realm of this guard's challenges (RFC 6750 §3)."""
        return self.get().realm

    def authorize(self, authorization: str | None, requirement: Requirement) -> Claims:
        return self.get().authorize(authorization, requirement)

    async def authorize_async(self, authorization: str | None, requirement: Requirement) -> Claims:
        return await self.get().authorize_async(authorization, requirement)


#: The guard every helper here uses unless given another.
settings_guard = SettingsGuard()


def error_response(err: GuardError, realm: str) -> JsonResponse:
    """The RFC 6750 §3 response for a refusal: JSON body and ``WWW-Authenticate``."""
    response = JsonResponse(err.to_dict(), status=err.status_code)
    for name, value in err.headers(realm).items():
        response[name] = value
    return response


def _request_argument(signature: inspect.Signature) -> HeaderSource:
    # Django passes the request first, positionally (or as request= when a
    # test calls the view by hand).
    def header_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        request = args[0] if args else kwargs.get("request")
        value = request.headers.get("Authorization") if request is not None else None
        return value if isinstance(value, str) else None

    return header_of


def _answering_refusals(
    view: Callable[..., Any], guard: Guard | SettingsGuard
) -> Callable[..., Any]:
    """Turn a ``GuardError`` from ``view`` into its response."""
    if iscoroutinefunction(view):
        async_view = cast(Callable[..., Awaitable[Any]], view)

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await async_view(*args, **kwargs)
            except GuardError as err:
                return error_response(err, guard.realm)

        return async_wrapper

    @functools.wraps(view)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except GuardError as err:
            return error_response(err, guard.realm)

    return sync_wrapper


def requires_auth(
    *permissions: PermissionSpec,
    any_of: Iterable[str] | None = None,
    guard: Guard | None = None,
    acr: str | None = None,
    amr: Iterable[str] | None = None,
    max_age: int | None = None,
) -> Decorator:
    """Protect a Django view taking ``(claims, request, ...)``.

    ``requires_auth("a", "b")`` needs both permissions,
    ``requires_auth(any_of=["a", "b"])`` either, ``requires_auth()`` only a
    valid token. The guard is ``settings.AUTHGATE_GUARD``'s unless ``guard``
    is given. ``acr``/``amr``/``max_age`` ask for a sign-in strength
    (``Guard.requirement``; with the settings' guard, ``acr`` is read against
    its ``ACR_VALUES`` on the first request).
    """
    if guard is not None:
        requirement = guard.requirement(*permissions, any_of=any_of, acr=acr, amr=amr, max_age=max_age)
    else:
        strength = AuthenticationRequirement.of(acr=acr, amr=amr, max_age=max_age)
        requirement = Requirement.of(*permissions, any_of=any_of, authentication=strength)
    checker: Guard | SettingsGuard = guard if guard is not None else settings_guard
    protect = build_decorator(checker, requirement, _request_argument)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        protected = _answering_refusals(protect(view), checker)
        # A browser never attaches a bearer token by itself, so a cross-site
        # request cannot borrow the caller's credentials: no CSRF token is
        # needed (Django REST framework exempts its views likewise).
        protected.csrf_exempt = True  # type: ignore[attr-defined]
        return protected

    return cast(Decorator, decorate)


class GuardMiddleware:
    """Verify the bearer token of every request that has one.

    ``request.auth_claims`` is the verified ``Claims``, or None for a request
    without bearer credentials (another ``Authorization`` scheme passes
    through, for Django's own authentication). A bad token is refused here
    with the RFC 6750 response; so is a ``GuardError`` raised by a view.
    Add ``"authgate.guard.django.GuardMiddleware"`` to ``MIDDLEWARE``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.guard = settings_guard
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        try:
            request.auth_claims = self._verify(request)
        except GuardError as err:
            return error_response(err, self.guard.realm)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        try:
            request.auth_claims = await self._verify_async(request)
        except GuardError as err:
            return error_response(err, self.guard.realm)
        response: HttpResponse = await self.get_response(request)
        return response

    def _verify(self, request: HttpRequest) -> Claims | None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return None
        try:
            return self.guard.get().authorize(authorization)
        except MissingToken:  # another scheme: not ours to refuse
            return None

    async def _verify_async(self, request: HttpRequest) -> Claims | None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return None
        try:
            return await self.guard.get().authorize_async(authorization)
        except MissingToken:
            return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer a ``GuardError`` a view raised (e.g. from ``authorize``)."""
        if isinstance(exception, GuardError):
            return error_response(exception, self.guard.realm)
        return None


__all__ = [
    "SETTING",
    "GuardMiddleware",
    "SettingsGuard",
    "config_from_settings",
    "error_response",
    "requires_auth",
    "settings_guard",
]
