from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authgate.guard import Claims, Guard
from authgate.guard.asgi import GuardMiddleware

guard = Guard(issuer="http://127.0.0.1:8000", audience="https://coffee.example/api")


@guard.requires_auth("get:drinks-detail")
async def drinks_detail(claims: Claims, request: Request) -> JSONResponse:
    return JSONResponse({"caller": claims.sub})


async def whoami(request: Request) -> JSONResponse:
    claims = request.state.auth  # set by the middleware; None without a token
    return JSONResponse({"caller": claims.sub if claims else None})


app = Starlette(routes=[Route("/drinks-detail", drinks_detail), Route("/whoami", whoami)])
app.add_middleware(GuardMiddleware, guard=guard)
