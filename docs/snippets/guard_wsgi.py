import json
from collections.abc import Callable, Iterable
from typing import Any

from authgate.guard import Guard, Requirement
from authgate.guard.wsgi import ENVIRON_KEY, GuardWSGIMiddleware

guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")


def drinks(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    claims = environ[ENVIRON_KEY]  # verified by the middleware (required=True: never None here)
    Requirement.of("get:drinks-detail").check(claims)  # a refusal becomes the RFC 6750 403
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"caller": claims.sub}).encode()]


app = GuardWSGIMiddleware(drinks, guard=guard, required=True)
