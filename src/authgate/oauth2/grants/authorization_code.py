"""The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6) and OpenID Connect ID tokens.

Steps, in one transaction: find the code → bound to this client → not used
before (else: a replay) → not expired → claim it (once, even under
concurrency) → the same redirect URI → the PKCE verifier → the user still
enabled → permissions for the audience through the user's roles, narrowed by
scope → access token, refresh token (when the client may refresh), ID token
(when `openid` was granted and an ID token issuer is wired in, from oidc/).
A code presented twice revokes what its first use issued (RFC 6749 §4.1.2, §10.5).

The codes are kept by an `AuthorizationCodeStorage` (oauth2/authorization_codes.py);
every rule above lives here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Protocol

from sqlalchemy.orm import Session

from authgate import audit
from authgate.access.holdings import user_permissions
from authgate.clock import utcnow
from authgate.oauth2 import pkce, scopes, strength
from authgate.oauth2.authorization_codes import AuthorizationCodeStorage, CodeGrant
from authgate.oauth2.errors import InvalidGrant, InvalidTarget
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.keys import ID_TOKEN_ALGORITHM
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oauth2.token_response import TokenResponse
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.oauth2.access_tokens import AccessTokens
    from authgate.oauth2.keys import KeyStore
    from authgate.oauth2.refresh_tokens import RefreshTokens
    from authgate.oauth2.revocation_list import RevocationList
    from authgate.settings import Settings
    from authgate.storage.database import Database


class CodeIdTokenIssuer(Protocol):
    """Wired in from oidc/: the ID token of a code exchange (OIDC Core §3.1.3.3), its `at_hash` of `access_token`."""

    def __call__(self, user: User, grant: CodeGrant, access_token: str) -> str: ...


class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"
    confidential_only: ClassVar[bool] = False
    uses_storage: ClassVar[bool] = True

    def __init__(
        self, *, database: Database, codes: AuthorizationCodeStorage, refresh_tokens: RefreshTokens,
        revocations: RevocationList, access_tokens: AccessTokens, keys: KeyStore, settings: Settings,
        userinfo_audience: Callable[[], str], id_tokens: CodeIdTokenIssuer | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.codes = codes
        self.refresh_tokens = refresh_tokens
        self.revocations = revocations
        self.access_tokens = access_tokens
        self.keys = keys
        self.settings = settings
        self.userinfo_audience = userinfo_audience
        self.id_tokens = id_tokens
        self.clock = clock

    def handle(self, request: TokenRequest) -> TokenResponse:
        client_id = request.client.client_id
        code = request.form.require("code")
        # The tokens are signed inside the transaction (the code row records what it issued), so
        # load the signing keys first: a write transaction must never wait for a second connection.
        self.keys.signing_key()
        self.keys.signing_key(ID_TOKEN_ALGORITHM)
        with self.database.transaction() as session:
            grant = self._claim(session, code, client_id)
            if grant is not None:
                return self._exchange(request, session, code, grant)
        # RFC 6749 §4.1.2: a code used twice; revoke what it issued (own transaction, then refuse).
        self._revoke_what_it_issued(code, ip=request.ip)
        raise InvalidGrant("The authorization code has already been used.")

    def _claim(self, session: Session, code: str, client_id: str) -> CodeGrant | None:
        """The code's grant, now marked used; None when it was used before (a replay)."""
        stored = self.codes.find(session, code)
        if stored is None:
            raise InvalidGrant("The authorization code is invalid.")
        if stored.grant.client_id != client_id:
            raise InvalidGrant("The authorization code was issued to another client.")  # RFC 6749 §4.1.3
        if stored.consumed_at is not None:
            return None
        now = self.clock()
        if stored.expires_at <= now:
            raise InvalidGrant("The authorization code has expired.")
        # Two concurrent redemptions both saw it unused: exactly one claims it, the other is a replay.
        return stored.grant if self.codes.claim(session, code, at=now) else None

    def _exchange(self, request: TokenRequest, session: Session, code: str, grant: CodeGrant) -> TokenResponse:
        client = request.client.client
        requested = scopes.parse_scope(" ".join(grant.scope) or None)
        self._check_redirect_uri(request, grant, requested)
        pkce.verify(request.form.get("code_verifier"), grant.code_challenge, grant.code_challenge_method)
        user = session.get(User, grant.user_id)
        if user is None or user.disabled:
            raise InvalidGrant("The user of this authorization code is no longer active.")
        auth_time = int(grant.auth_time.timestamp())
        # An OpenID login that named no API gets a token for userinfo only (see oidc/scopes.py).
        audience = grant.audience or self.userinfo_audience()
        target = scopes.requested_target(request.form)
        if target is not None and target != audience:
            # RFC 8707 §2.2: the token request may only name the resource the code was issued for.
            raise InvalidTarget("The resource is not the one this authorization code was issued for.")
        permissions, scope = scopes.granted_scope(requested, user_permissions(session, user.id, audience))
        access = self.access_tokens.issue(
            subject=user.subject, client_id=client.client_id, audience=audience, scope=scope,
            permissions=permissions, auth_time=auth_time, extra=strength.claims_of(grant.amr),
        )
        refresh_token, family_id = None, None
        if "refresh_token" in client.grant_types:
            refresh_token = self.refresh_tokens.issue(session, RefreshGrant(
                client_id=client.client_id, user_id=user.id, audience=audience, scope=grant.scope,
                auth_time=grant.auth_time, amr=grant.amr,
                # offline_access outlives the browser session; anything else ends with it (logout).
                session_id=None if requested.wants_offline_access else grant.session_id,
            ))
            found = self.refresh_tokens.find_active(session, refresh_token)
            family_id = found.family_id if found is not None else None
        id_token = None
        if scopes.OPENID in requested.oidc and self.id_tokens is not None:
            id_token = self.id_tokens(user, grant, access.token)
        self.codes.record_issued(session, code, family_id=family_id, access_jti=access.claims["jti"])
        return TokenResponse(access, scope=scope, refresh_token=refresh_token, id_token=id_token,
                             subject_name=user.username)

    @staticmethod
    def _check_redirect_uri(request: TokenRequest, grant: CodeGrant, requested: scopes.RequestedScope) -> None:
        sent = request.form.get("redirect_uri")
        if sent is not None:
            if sent != grant.redirect_uri:
                raise InvalidGrant("redirect_uri does not match the authorization request.")  # RFC 6749 §4.1.3
            return
        # RFC 6749 §4.1.3: required when the authorization request had one. OpenID requests always
        # have one (OIDC Core §3.1.2.1); otherwise it could be omitted only with a single registered URI.
        if scopes.OPENID in requested.oidc or len(request.client.client.redirect_uris) != 1:
            raise InvalidGrant("redirect_uri is required.")

    def _revoke_what_it_issued(self, code: str, *, ip: str | None) -> None:
        """RFC 6749 §4.1.2: the code was used twice; revoke every token issued from it. Own transaction."""
        now = self.clock()
        revoked: dict[str, object] | None = None
        with self.database.transaction() as session:
            stored = self.codes.find(session, code)
            if stored is None:
                return
            if stored.issued_family_id:
                self.refresh_tokens.revoke_family(session, stored.issued_family_id)
            if stored.issued_access_jti:
                # The token cannot outlive its TTL from the moment the code was redeemed.
                expires_at = (stored.consumed_at or now) + timedelta(seconds=self.settings.access_token_ttl + 60)
                if self.revocations.storage.add(session, stored.issued_access_jti, expires_at=expires_at,
                                                revoked_at=now):
                    revoked = {"jti": stored.issued_access_jti, "exp": expires_at.timestamp()}
            user = session.get(User, stored.grant.user_id)
            audit.record(session, audit.CODE_REUSED, subject=user.username if user else str(stored.grant.user_id),
                         client_id=stored.grant.client_id, ip=ip, outcome="refused", family_id=stored.issued_family_id)
        if revoked is not None:  # committed: this process's revocation check counts it at once
            self.revocations.revoked(revoked)
