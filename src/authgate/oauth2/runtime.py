"""The OAuth machinery one server process shares: `services.oauth2`.

    services.oauth2.clients              ClientDirectory (cached client records, known audiences, origins)
    services.oauth2.grants               GrantRegistry (token endpoint dispatch), each grant given what it uses
    services.oauth2.authorization_codes  AuthorizationCodeStorage
    services.oauth2.refresh_tokens       RefreshTokens (over the RefreshTokenStorage for the database's dialect)
    services.oauth2.issuance_log         IssuanceLog (batched `token.issued` audit events)
    services.oauth2.revoked_tokens       RevokedTokenStorage (the revoked access-token jtis' table)
    services.oauth2.revocations          RevocationList (those jtis, mirrored in memory)
    services.oauth2.verified_tokens      VerifiedTokens (access tokens whose signature was checked)
    services.oauth2.usernames            Usernames (user subject -> username, for introspection)
    services.oauth2.warmer               Warmer (reloads the caches above and the signing keys before they expire)
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from authgate.oauth2.authorization_codes import AuthorizationCodeStorage, SqlAuthorizationCodeStorage
from authgate.oauth2.client_directory import ClientDirectory
from authgate.oauth2.grants import GrantRegistry, OpenIdHooks, default_registry
from authgate.oauth2.issuance_log import IssuanceLog
from authgate.oauth2.refresh_storage import storage_for
from authgate.oauth2.refresh_tokens import RefreshTokens, successor_key
from authgate.oauth2.revocation_list import RevocationList, RevokedTokenStorage, SqlRevokedTokenStorage
from authgate.oauth2.usernames import Usernames
from authgate.oauth2.verified_tokens import VerifiedTokens
from authgate.oauth2.warmer import Warmer

if TYPE_CHECKING:
    from authgate.services import Services


class OAuthRuntime:
    def __init__(self, services: Services, openid: OpenIdHooks) -> None:
        self.services = services
        self.openid = openid  # what the grants take from oidc/, wired by services.py

    @cached_property
    def clients(self) -> ClientDirectory:
        return ClientDirectory(self.services.database, self.services.settings.client_cache_seconds)

    @cached_property
    def grants(self) -> GrantRegistry:
        return default_registry(self.services, self.openid)

    @cached_property
    def authorization_codes(self) -> AuthorizationCodeStorage:
        return SqlAuthorizationCodeStorage()

    @cached_property
    def refresh_tokens(self) -> RefreshTokens:
        settings = self.services.settings
        return RefreshTokens(settings, successor_key(settings), storage_for(self.services.database))

    @cached_property
    def issuance_log(self) -> IssuanceLog:
        return IssuanceLog(self.services.database, flush_delay=self.services.settings.audit_flush_seconds)

    @cached_property
    def revoked_tokens(self) -> RevokedTokenStorage:
        return SqlRevokedTokenStorage()

    @cached_property
    def revocations(self) -> RevocationList:
        return RevocationList(self.services.database, self.services.settings.revocation_cache_seconds,
                              storage=self.revoked_tokens)

    @cached_property
    def verified_tokens(self) -> VerifiedTokens:
        return VerifiedTokens(self.services)

    @cached_property
    def usernames(self) -> Usernames:
        return Usernames(self.services.database)

    @cached_property
    def warmer(self) -> Warmer:
        return Warmer([self.services.keys.refresh_due, self.clients.refresh_due, self.revocations.refresh_due])
