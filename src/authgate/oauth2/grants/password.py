"""The resource owner password credentials grant (RFC 6749 §4.3): the simple, first-party model.

Off by default: only a first-party client that lists `password` in its
grant_types may use it (anything else is `unauthorized_client`). The password
goes through `PasswordLogin`, so brute-force protection applies: a refused
attempt is 429 with Retry-After; a wrong password, unknown user or disabled
account is `invalid_grant` with one message.

A refresh token is issued exactly when the client has `refresh_token` in its
grant_types (asking for `offline_access` without it is `invalid_scope`).
"""

from __future__ import annotations

from typing import ClassVar

from authgate.access.holdings import user_permissions
from authgate.accounts.login import LoginFailed, LoginThrottled, PasswordLogin
from authgate.clock import utcnow
from authgate.oauth2 import scopes
from authgate.oauth2.errors import InvalidGrant, SlowDown, UnauthorizedClient
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oauth2.token_response import TokenResponse


class PasswordGrant:
    grant_type: ClassVar[str] = "password"
    confidential_only: ClassVar[bool] = False

    def handle(self, request: TokenRequest) -> TokenResponse:
        client = request.client.client
        if not client.first_party:
            raise UnauthorizedClient("The password grant is for first-party clients only.")
        username = request.form.require("username")
        password = request.form.require("password")
        requested = scopes.parse_scope(request.form.get("scope"))
        scopes.check_offline_access(requested, client)
        audience = scopes.resolve_audience(request.form, client, request.services.oauth2.clients)
        services = request.services
        login = PasswordLogin(services)
        try:
            verified = login.verify(username, password, ip=request.ip, client_id=client.client_id)
        except LoginThrottled as throttled:
            raise SlowDown(throttled.retry_after_seconds) from None
        except LoginFailed:
            raise InvalidGrant("Invalid username or password.") from None  # RFC 6749 §5.2
        user = verified.user
        auth_time = utcnow()
        with services.database.transaction() as session:  # the login and what it grants, in one transaction
            login.record(session, verified)
            permissions, scope = scopes.granted_scope(requested, user_permissions(session, user.id, audience))
            refresh_token = None
            if "refresh_token" in client.grant_types:
                refresh_token = services.oauth2.refresh_tokens.issue(session, RefreshGrant(
                    client_id=client.client_id, user_id=user.id, audience=audience, scope=tuple(scope), auth_time=auth_time,
                ))
        # Signed after the commit: signing may read keys; a transaction never waits for a second connection.
        access = services.access_tokens.issue(
            subject=str(user.id), client_id=client.client_id, audience=audience, scope=scope,
            permissions=permissions, auth_time=int(auth_time.timestamp()),
        )
        return TokenResponse(access, scope=scope, refresh_token=refresh_token, subject_name=user.username)
