"""`GET /metrics`: the Prometheus text format, when `metrics_enabled` (else no such route).

Not public by default: the route exists only when enabled, and with `metrics_token` set it
answers only `Authorization: Bearer <token>` (RFC 6750 §3 on a missing or wrong one). Under
`serve --workers N` whichever worker answers reads every worker's values (metrics.py).
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from authgate.guard import bearer
from authgate.metrics import CONTENT_TYPE
from authgate.services import Services
from authgate.settings import Settings

MAX_TOKEN_BYTES = 4096  # far above any token an operator configures; longer is no match

PATH = "/metrics"


def routes(settings: Settings) -> list[BaseRoute]:
    return [Route(PATH, scrape, methods=["GET"])] if settings.metrics_enabled else []


async def scrape(request: Request) -> Response:
    services: Services = request.app.state.services
    token = services.settings.metrics_token
    if token is not None and not _bearer_matches(request.headers.get("authorization"), token.get_secret_value()):
        # RFC 6750 §3: the challenge; no error code when no credentials were sent (§3.1).
        return Response(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    # Reading the workers' files and counting the outbox is blocking work.
    body = await run_in_threadpool(services.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _bearer_matches(authorization: str | None, token: str) -> bool:
    try:
        sent = bearer.bearer_token(authorization, MAX_TOKEN_BYTES)
    except (bearer.MissingToken, bearer.InvalidRequest, bearer.InvalidToken):
        return False
    return hmac.compare_digest(sent.encode(), token.encode())
