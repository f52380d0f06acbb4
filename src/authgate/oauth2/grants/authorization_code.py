"""The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6) and OpenID Connect ID tokens.

Steps: claim the code (once, for this client) → the same redirect URI →
the PKCE verifier → the user still enabled → permissions for the audience
through the user's roles, narrowed by scope → access token, refresh token
(when the client may refresh), ID token (when `openid` was granted).
A code presented twice revokes what its first use issued (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy.orm import Session

from authgate.access.holdings import user_permissions
from authgate.oauth2 import pkce, scopes, strength
from authgate.oauth2.errors import InvalidGrant, InvalidTarget
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.keys import ID_TOKEN_ALGORITHM
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oauth2.token_response import TokenResponse
from authgate.oidc import authorization_codes, id_tokens
from authgate.oidc.authorization_codes import CodeGrant
from authgate.oidc.claims import OPENID
from authgate.oidc.scopes import userinfo_audience
from authgate.storage.models import User


class AuthorizationCodeGrant:
    grant_type: ClassVar[str] = "authorization_code"
    confidential_only: ClassVar[bool] = False
    uses_storage: ClassVar[bool] = True

    def handle(self, request: TokenRequest) -> TokenResponse:
        services, client = request.services, request.client.client
        code = request.form.require("code")
        # The tokens are signed inside the transaction (the code row records what it issued), so
        # load the signing keys first: a write transaction must never wait for a second connection.
        services.keys.signing_key()
        services.keys.signing_key(ID_TOKEN_ALGORITHM)
        with services.database.transaction() as session:
            grant = authorization_codes.claim(session, code, client_id=client.client_id)
            if grant is not None:
                return self._exchange(request, session, code, grant)
        # RFC 6749 §4.1.2: a code used twice; revoke what it issued (own transaction, then refuse).
        authorization_codes.revoke_replayed(services, code, ip=request.ip)
        raise InvalidGrant("The authorization code has already been used.")

    def _exchange(self, request: TokenRequest, session: Session, code: str, grant: CodeGrant) -> TokenResponse:
        services, client = request.services, request.client.client
        requested = scopes.parse_scope(" ".join(grant.scope) or None)
        self._check_redirect_uri(request, grant, requested)
        pkce.verify(request.form.get("code_verifier"), grant.code_challenge, grant.code_challenge_method)
        user = session.get(User, grant.user_id)
        if user is None or user.disabled:
            raise InvalidGrant("The user of this authorization code is no longer active.")
        auth_time = int(grant.auth_time.timestamp())
        # An OpenID login that named no API gets a token for userinfo only (see oidc/scopes.py).
        audience = grant.audience or userinfo_audience(services)
        target = scopes.requested_target(request.form)
        if target is not None and target != audience:
            # RFC 8707 §2.2: the token request may only name the resource the code was issued for.
            raise InvalidTarget("The resource is not the one this authorization code was issued for.")
        permissions, scope = scopes.granted_scope(requested, user_permissions(session, user.id, audience))
        access = services.access_tokens.issue(
            subject=user.subject, client_id=client.client_id, audience=audience, scope=scope,
            permissions=permissions, auth_time=auth_time, extra=strength.claims_of(grant.amr),
        )
        refresh_token, family_id = None, None
        if "refresh_token" in client.grant_types:
            store = services.oauth2.refresh_tokens
            refresh_token = store.issue(session, RefreshGrant(
                client_id=client.client_id, user_id=user.id, audience=audience, scope=grant.scope,
                auth_time=grant.auth_time, amr=grant.amr,
                # offline_access outlives the browser session; anything else ends with it (logout).
                session_id=None if requested.wants_offline_access else grant.session_id,
            ))
            found = store.find_active(session, refresh_token)
            family_id = found.family_id if found is not None else None
        id_token = None
        if OPENID in requested.oidc:
            id_token = id_tokens.issue(services, user, id_tokens.IdTokenRequest(
                client_id=client.client_id, scope=requested.oidc, auth_time=auth_time, nonce=grant.nonce,
                sid=grant.session_id, amr=grant.amr or id_tokens.LEGACY_AMR,
            ), access_token=access.token)
        authorization_codes.record_issued(session, code, family_id=family_id, access_jti=access.claims["jti"])
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
        if OPENID in requested.oidc or len(request.client.client.redirect_uris) != 1:
            raise InvalidGrant("redirect_uri is required.")
