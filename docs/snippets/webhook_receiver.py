"""A webhook receiver: verify the signature, drop duplicates by webhook-id, then act."""

import os

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

verifier = Webhook(os.environ["AUTHGATE_WEBHOOK_SECRET"])  # the whsec_… shown once at creation
seen: set[str] = set()  # in production: a table with a unique key, kept a few days


async def authgate_events(request: Request) -> Response:
    try:
        event = verifier.verify(await request.body(), dict(request.headers))  # also refuses stale timestamps
    except WebhookVerificationError:
        return Response(status_code=400)
    if request.headers["webhook-id"] in seen:  # at-least-once: a retry may repeat a delivery
        return Response(status_code=204)
    seen.add(request.headers["webhook-id"])
    print(event["type"], event["data"]["subject"])  # e.g. "login.failed abe"
    return Response(status_code=204)  # any 2xx: delivered; anything else: retried with backoff


app = Starlette(routes=[Route("/authgate", authgate_events, methods=["POST"])])
