"""/healthz: the process is up. /readyz: the database answers (503 when it does not)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    ready = await run_in_threadpool(request.app.state.services.database.ping)
    if ready:
        return JSONResponse({"status": "ready", "database": "ok"}, headers={"Cache-Control": "no-store"})
    return JSONResponse(
        {"status": "unavailable", "database": "unreachable"}, status_code=503,
        headers={"Cache-Control": "no-store", "Retry-After": "5"},
    )


routes = [Route("/healthz", healthz, methods=["GET", "HEAD"]), Route("/readyz", readyz, methods=["GET", "HEAD"])]
