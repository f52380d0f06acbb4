"""The ``requires_auth`` decorator, shared by every integration.

Like Starlette's ``requires``, it accepts one permission or several and works
on sync and async views. The view takes the verified claims as its first
positional parameter; the wrapper it returns takes everything else, and
``inspect.signature`` reports exactly that (the claims parameter removed),
so frameworks that read signatures see the parameters they must supply.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, NoReturn, ParamSpec, Protocol, TypeVar, cast

from authgate.guard.claims import Claims
from authgate.guard.errors import GuardError
from authgate.guard.permissions import Requirement

P = ParamSpec("P")
R = TypeVar("R")

#: Finds the ``Authorization`` header value from the wrapper's arguments.
HeaderSource = Callable[[tuple[Any, ...], dict[str, Any]], str | None]


class Authorizer(Protocol):
    """What a decorator checks requests with: a ``Guard``, or one built on demand."""

    def authorize(self, authorization: str | None, requirement: Requirement) -> Claims: ...

    async def authorize_async(
        self, authorization: str | None, requirement: Requirement
    ) -> Claims: ...


class Decorator(Protocol):
    """What ``requires_auth(...)`` returns: claims-first view in, view out."""

    def __call__(self, view: Callable[Concatenate[Claims, P], R], /) -> Callable[P, R]: ...


def _reraise(err: GuardError) -> NoReturn:
    raise err


def request_header_source(signature: inspect.Signature) -> HeaderSource:
    """Read the header from the view's ``request`` (or ``websocket``) argument.

    Works with any request object whose ``headers`` has a case-insensitive
    ``get`` (Starlette, FastAPI, Django, aiohttp). Raises ``TypeError`` at
    decoration time when the view has no such parameter, as Starlette does.
    """
    names = list(signature.parameters)
    for name in ("request", "websocket"):
        if name in names:
            index = names.index(name)
            break
    else:
        raise TypeError(
            "requires_auth needs a 'request' parameter after the claims; with Flask "
            "use FlaskGuard, with FastAPI use Depends(guard.fastapi(...))"
        )

    def header_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        request = kwargs[name] if name in kwargs else args[index]
        value = request.headers.get("authorization")
        return value if isinstance(value, str) else None

    return header_of


def build_decorator(
    guard: Authorizer,
    requirement: Requirement,
    header_source: Callable[[inspect.Signature], HeaderSource] = request_header_source,
    on_error: Callable[[GuardError], NoReturn] = _reraise,
) -> Decorator:
    """A ``requires_auth`` decorator for one requirement and one integration."""

    def decorate(view: Callable[Concatenate[Claims, P], R]) -> Callable[P, R]:
        signature = inspect.signature(view)
        parameters = list(signature.parameters.values())
        if not parameters or parameters[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            raise TypeError(
                f"{view.__qualname__} must take the verified claims "
                "as its first positional parameter"
            )
        public_signature = signature.replace(parameters=parameters[1:])
        header_of = header_source(public_signature)
        wrapper: Callable[..., Any]

        if inspect.iscoroutinefunction(view):
            async_view = cast(Callable[..., Awaitable[Any]], view)

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    claims = await guard.authorize_async(header_of(args, kwargs), requirement)
                except GuardError as err:
                    on_error(err)
                return await async_view(claims, *args, **kwargs)

            wrapper = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    claims = guard.authorize(header_of(args, kwargs), requirement)
                except GuardError as err:
                    on_error(err)
                return view(claims, *args, **kwargs)

            wrapper = sync_wrapper
        cast(Any, wrapper).__signature__ = public_signature
        return cast(Callable[P, R], wrapper)

    return cast(Decorator, decorate)
