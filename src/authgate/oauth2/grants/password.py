"""The resource owner password credentials grant (RFC 6749 §4.3): the simple, first-party model.

Off by default: only a first-party client that lists `password` in its
grant_types may use it (anything else is `unauthorized_client`). The password
goes through `PasswordLogin`, so brute-force protection applies: a refused
attempt is 429 with Retry-After; a wrong password, unknown user or disabled
account is `invalid_grant` with one message.

A refresh token is issued exactly when the client has `refresh_token` in its
grant_types (asking for `offline_access` without it is `invalid_scope`).

One path, the same on SQLite and PostgreSQL: the password is checked with no
transaction open (argon2 takes ~20 ms); then one transaction records the
login (`PasswordLogin.record`), reads the permissions held, narrows them by
the requested scope (`scopes.granted_scope`, in Python) and issues the
refresh token, all or nothing. The access token is signed after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from authgate import audit
from authgate.access.holdings import user_permissions
from authgate.accounts import mfa
from authgate.accounts.login import (
    LoginFailed,
    LoginThrottled,
    LoginUnverified,
    LoginUser,
    PasswordLogin,
)
from authgate.clock import utcnow
from authgate.oauth2 import scopes, strength
from authgate.oauth2.errors import InvalidGrant, SlowDown, UnauthorizedClient
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oauth2.token_response import TokenResponse

if TYPE_CHECKING:
    from authgate.oauth2.access_tokens import AccessTokens
    from authgate.oauth2.client_directory import ClientDirectory
    from authgate.oauth2.refresh_tokens import RefreshTokens
    from authgate.settings import Settings
    from authgate.storage.database import Database

PASSWORD_AMR = ("pwd",)  # RFC 8176 §2


class PasswordGrant:
    grant_type: ClassVar[str] = "password"
    confidential_only: ClassVar[bool] = False
    uses_storage: ClassVar[bool] = True

    def __init__(
        self, *, login: PasswordLogin, database: Database, settings: Settings, clients: ClientDirectory,
        refresh_tokens: RefreshTokens, access_tokens: AccessTokens, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.login = login
        self.database = database
        self.settings = settings
        self.clients = clients
        self.refresh_tokens = refresh_tokens
        self.access_tokens = access_tokens
        self.clock = clock

    def handle(self, request: TokenRequest) -> TokenResponse:
        client = request.client.client
        if not client.first_party:
            raise UnauthorizedClient("The password grant is for first-party clients only.")
        username = request.form.require("username")
        password = request.form.require("password")
        requested = scopes.parse_scope(request.form.get("scope"))
        scopes.check_offline_access(requested, client)
        audience = scopes.resolve_audience(request.form, client, self.clients)
        try:
            verified = self.login.verify(username, password, ip=request.ip, client_id=client.client_id)
        except LoginThrottled as throttled:
            raise SlowDown(throttled.retry_after_seconds) from None
        except LoginUnverified:
            raise InvalidGrant("The email address of this account is not confirmed yet.") from None
        except LoginFailed:
            raise InvalidGrant("Invalid username or password.") from None  # RFC 6749 §5.2
        user = verified.user
        self._refuse_second_factor_accounts(user, client_id=client.client_id, ip=request.ip)
        auth_time = self.clock()
        with self.database.transaction() as session:  # the login and what it grants, all or nothing
            self.login.record(session, verified)
            permissions, scope = scopes.granted_scope(requested, user_permissions(session, user.id, audience))
            refresh_token = None
            if "refresh_token" in client.grant_types:
                refresh_token = self.refresh_tokens.issue(session, RefreshGrant(
                    client_id=client.client_id, user_id=user.id, audience=audience, scope=tuple(scope),
                    auth_time=auth_time, amr=PASSWORD_AMR,
                ))
        # Signed after the commit: signing may read keys; a transaction never waits for a second connection.
        access = self.access_tokens.issue(
            subject=user.subject, client_id=client.client_id, audience=audience, scope=scope,
            permissions=permissions, auth_time=int(auth_time.timestamp()), extra=strength.claims_of(PASSWORD_AMR),
        )
        return TokenResponse(access, scope=scope, refresh_token=refresh_token, subject_name=user.username)

    def _refuse_second_factor_accounts(self, user: LoginUser, *, client_id: str, ip: str | None) -> None:
        """No bypass: a password alone never gets a token for someone who has a second factor or must have one
        (accounts/mfa.py); they sign in through the hosted login. Checked after the password, so the answer
        reveals nothing to someone who does not know it."""
        with self.database.reader() as session:
            needed = mfa.requirement(session, self.settings, user.id)
        if needed is mfa.Requirement.NONE:
            return
        audit.record_now(self.database, audit.LOGIN_FAILED, subject=user.username, client_id=client_id, ip=ip,
                         outcome="refused", reason="interactive_login_required")
        raise InvalidGrant("Interactive login is required: this account signs in with a second factor.")
