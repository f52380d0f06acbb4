"""Flask integration: the course's ``@requires_auth`` with the claims first.

>>> guard = FlaskGuard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")
>>> @app.route("/drinks", methods=["POST"])
... @guard.requires_auth("post:drinks")
... def create_drink(payload): ...

Flask is imported here only, never by ``authgate.guard`` itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, NoReturn

import flask

from authgate.guard.decorators import Decorator, HeaderSource, build_decorator
from authgate.guard.errors import GuardError
from authgate.guard.guard import Guard
from authgate.guard.permissions import PermissionSpec


def _from_flask_request(signature: inspect.Signature) -> HeaderSource:
    def header_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        return flask.request.headers.get("Authorization")

    return header_of


class FlaskGuard(Guard):
    """A ``Guard`` whose decorator reads ``flask.request`` and answers refusals."""

    def requires_auth(
        self,
        *permissions: PermissionSpec,
        any_of: Iterable[str] | None = None,
        acr: str | None = None,
        amr: Iterable[str] | None = None,
        max_age: int | None = None,
    ) -> Decorator:
        """Protect a Flask view taking the claims as its first positional argument.

        A refusal becomes the RFC 6750 response (JSON body and
        ``WWW-Authenticate``), whatever error handlers the app has.
        """
        requirement = self.requirement(*permissions, any_of=any_of, acr=acr, amr=amr, max_age=max_age)
        return build_decorator(self, requirement, _from_flask_request, self._abort)

    def error_response(self, err: GuardError) -> flask.Response:
        """The RFC 6750 §3 response for a refusal."""
        response = flask.jsonify(err.to_dict())
        response.status_code = err.status_code
        response.headers.update(err.headers(self.realm))
        return response

    def init_app(self, app: flask.Flask) -> None:
        """Render ``GuardError`` raised in views (e.g. by ``authorize``) too."""
        app.register_error_handler(GuardError, self.error_response)

    def _abort(self, err: GuardError) -> NoReturn:
        flask.abort(self.error_response(err))
