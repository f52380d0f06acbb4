"""Token revocation, ``POST /oauth/revoke`` (RFC 7009).

The client authenticates as at the token endpoint (a public client by its
client_id, RFC 7009 §2.1). A refresh token revokes its whole family; an
access token has its `jti` recorded until it would have expired. The
`token_type_hint` only decides which kind is tried first: an unknown hint or
a wrong one still searches both (RFC 7009 §2.1). A token that is unknown,
already invalid or another client's gets 200 all the same, and nothing
happens (RFC 7009 §2.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from authgate import audit
from authgate.accounts.users import user_by_subject
from authgate.http import cors
from authgate.http.client_ip import client_ip
from authgate.oauth2.access_tokens import AccessTokenInvalid
from authgate.oauth2.client_auth import AuthenticatedClient, authenticate_client
from authgate.oauth2.errors import NO_STORE
from authgate.oauth2.form import Form, read_form
from authgate.oauth2.token_endpoint import error_response
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services


async def revoke(request: Request) -> Response:
    services: Services = request.app.state.services
    if request.method == "OPTIONS":
        return cors.preflight(request, services.oauth2.clients.is_registered_origin)
    origin = cors.request_origin(request)
    ip = client_ip(request, tuple(services.settings.trusted_proxies))
    seen: list[tuple[str, ...]] = []
    try:
        form = await read_form(request)
        authorization = request.headers.get("authorization")
        await run_in_threadpool(_revoke, services, form, authorization, ip, seen)
    except Exception as error:  # noqa: BLE001 - error_response renders every failure, an unexpected one as a logged 500
        return error_response(error, request, cors.response_headers(origin, seen[0] if seen else ()))
    # RFC 7009 §2.2: 200 whether or not there was anything to revoke.
    return Response(status_code=200, headers={**NO_STORE, **cors.response_headers(origin, seen[0])})


def _revoke(services: Services, form: Form, authorization: str | None, ip: str, seen: list[tuple[str, ...]]) -> None:
    client = authenticate_client(services.oauth2.clients, form, authorization)
    seen.append(client.client.web_origins)
    token = form.require("token")
    attempts = [_revoke_refresh_token, _revoke_access_token]
    if form.get("token_type_hint") == "access_token":
        attempts.reverse()
    for attempt in attempts:
        if attempt(services, client, token, ip):
            return


def _revoke_refresh_token(services: Services, client: AuthenticatedClient, token: str, ip: str) -> bool:
    with services.database.transaction() as session:
        row = services.oauth2.refresh_tokens.revoke(session, token, client_id=client.client_id)
        if row is not None:
            user = session.get(User, row.user_id) if row.user_id is not None else None
            audit.record(session, audit.TOKEN_REVOKED, subject=user.username if user else client.client_id,
                         client_id=client.client_id, ip=ip, token_type="refresh_token", family=row.family_id[:12])
    return row is not None


def _revoke_access_token(services: Services, client: AuthenticatedClient, token: str, ip: str) -> bool:
    if token.count(".") != 2:
        return False
    try:
        claims = services.access_tokens.verify(token, check_revoked=False)
    except AccessTokenInvalid:
        return False
    if claims.get("client_id") != client.client_id:
        return False  # RFC 7009 §2.1: only the client it was issued to may revoke it
    services.access_tokens.revoke(claims)
    with services.database.transaction() as session:
        subject = str(claims.get("sub", ""))
        user = user_by_subject(session, subject)
        audit.record(
            session, audit.TOKEN_REVOKED, subject=user.username if user else subject[:200], client_id=client.client_id,
            ip=ip, token_type="access_token", jti=claims["jti"], sub=subject,
        )
    return True
