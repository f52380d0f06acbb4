"""The resource owner password credentials grant (RFC 6749 §4.3): the simple, first-party model.

Off by default: only a first-party client that lists `password` in its
grant_types may use it (anything else is `unauthorized_client`). The password
goes through `PasswordLogin`, so brute-force protection applies: a refused
attempt is 429 with Retry-After; a wrong password, unknown user or disabled
account is `invalid_grant` with one message.

A refresh token is issued exactly when the client has `refresh_token` in its
grant_types (asking for `offline_access` without it is `invalid_scope`).

The login, the permissions it grants and the refresh token are written
together, all or nothing: on PostgreSQL, in the usual case, as one statement
(the login's CTEs, the permissions held, the refresh token inserted with the
scope narrowed in SQL: one round trip); otherwise in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import ARRAY, Select, String, Table, bindparam, func, insert, select

from authgate import audit
from authgate.access import holdings
from authgate.access.holdings import user_permissions
from authgate.accounts import mfa
from authgate.accounts.login import (
    RECORD_LOGIN,
    LoginFailed,
    LoginThrottled,
    LoginUnverified,
    PasswordLogin,
    VerifiedLogin,
)
from authgate.clock import utcnow
from authgate.oauth2 import scopes, strength
from authgate.oauth2.errors import InvalidGrant, SlowDown, UnauthorizedClient
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oauth2.token_response import TokenResponse
from authgate.storage.models import RefreshToken

if TYPE_CHECKING:
    from authgate.services import Services

PASSWORD_AMR = ("pwd",)  # RFC 8176 §2


class PasswordGrant:
    grant_type: ClassVar[str] = "password"
    confidential_only: ClassVar[bool] = False
    uses_storage: ClassVar[bool] = True

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
        except LoginUnverified:
            raise InvalidGrant("The email address of this account is not confirmed yet.") from None
        except LoginFailed:
            raise InvalidGrant("Invalid username or password.") from None  # RFC 6749 §5.2
        user = verified.user
        _refuse_second_factor_accounts(services, user.id, username=user.username, client_id=client.client_id, ip=request.ip)
        auth_time = utcnow()
        family = None
        if "refresh_token" in client.grant_types:
            family = RefreshGrant(client_id=client.client_id, user_id=user.id, audience=audience, auth_time=auth_time,
                                  amr=PASSWORD_AMR)
        if login.records_in_one_statement(verified):
            held, refresh_token = _in_one_statement(services, verified, requested, audience, family, auth_time)
            permissions, scope = scopes.granted_scope(requested, held)
        else:
            with services.database.transaction() as session:  # the login and what it grants, in one transaction
                login.record(session, verified)
                permissions, scope = scopes.granted_scope(requested, user_permissions(session, user.id, audience))
                refresh_token = None
                if family is not None:
                    refresh_token = services.oauth2.refresh_tokens.issue(session, replace(family, scope=tuple(scope)))
        # Signed after the commit: signing may read keys; a transaction never waits for a second connection.
        access = services.access_tokens.issue(
            subject=user.subject, client_id=client.client_id, audience=audience, scope=scope,
            permissions=permissions, auth_time=int(auth_time.timestamp()), extra=strength.claims_of(PASSWORD_AMR),
        )
        return TokenResponse(access, scope=scope, refresh_token=refresh_token, subject_name=user.username)


def _refuse_second_factor_accounts(services: Services, user_id: int, *, username: str, client_id: str,
                                   ip: str | None) -> None:
    """No bypass: a password alone never gets a token for someone who has a second factor or must have one
    (accounts/mfa.py); they sign in through the hosted login. Checked after the password, so the answer
    reveals nothing to someone who does not know it."""
    with services.database.reader() as session:
        needed = mfa.requirement(session, services.settings, user_id)
    if needed is mfa.Requirement.NONE:
        return
    audit.record_now(services.database, audit.LOGIN_FAILED, subject=username, client_id=client_id, ip=ip,
                     outcome="refused", reason="interactive_login_required")
    raise InvalidGrant("Interactive login is required: this account signs in with a second factor.")


def _in_one_statement(
    services: Services, verified: VerifiedLogin, requested: scopes.RequestedScope, audience: str,
    family: RefreshGrant | None, now: datetime,
) -> tuple[list[str], str | None]:
    """PostgreSQL: record the login, read the permissions held for `audience` and start the refresh token
    `family` (if any) in one statement, in autocommit (one statement is all or nothing).
    Returns the permissions held (sorted) and the refresh token."""
    values = verified.record_values(now) | {"audience": audience}
    statement, refresh_token = _LOGIN_GRANTED, None
    if family is not None:
        refresh_token, link = services.oauth2.refresh_tokens.new_family(family, now)
        values |= {f"link_{name}": value for name, value in link.items()}
        values |= {"oidc_scopes": list(requested.oidc), "every_permission": requested.permissions is None,
                   "requested_permissions": list(requested.permissions or ())}
        statement = _LOGIN_GRANTED_WITH_REFRESH_TOKEN
    with services.database.statement() as connection:
        held = connection.execute(statement, values).scalar_one()
    return sorted(held), refresh_token


# --- statements, built once (SQLAlchemy reuses their compiled form, psycopg prepares their text) -----------
def _login_granted(*, with_refresh_token: bool) -> Select[Any]:
    """`RECORD_LOGIN`'s CTEs and the permissions the user holds for :audience; with a refresh token, its row
    too, whose scope is the one `scopes.granted_scope` gives: :oidc_scopes, then the held permissions narrowed
    to the requested ones (`holdings.narrowed_in_sql`)."""
    held = holdings.held_by_user(bindparam("login_user_id"), bindparam("audience")).cte("held")
    statement = select(func.array(select(held.c.name).scalar_subquery()).label("permissions")).add_cte(*RECORD_LOGIN)
    if not with_refresh_token:
        return statement
    links = cast(Table, RefreshToken.__table__)
    # As `RefreshTokenStore.new_family` gives them, prefixed: an UPDATE in the statement (`RECORD_LOGIN`)
    # would also SET a column its parameters name (users.created_at).
    given = ["token_hash", "family_id", "client_id", "user_id", "audience", "auth_time", "session_id", "amr",
             "created_at", "expires_at", "family_expires_at"]
    scope = func.array_to_string(
        func.array_cat(bindparam("oidc_scopes", type_=ARRAY(String)), holdings.narrowed_in_sql(held)), " ")
    issued = insert(links).from_select(
        [*given, "scope"], select(*(bindparam(f"link_{name}", type_=links.c[name].type) for name in given), scope),
    ).cte("refresh_token_issued")
    return statement.add_cte(issued)


_LOGIN_GRANTED = _login_granted(with_refresh_token=False)
_LOGIN_GRANTED_WITH_REFRESH_TOKEN = _login_granted(with_refresh_token=True)
