"""The grant registry: one class per grant type, one module each, wired here at start-up.

A grant is any object with

    grant_type: ClassVar[str]                     # the `grant_type` value it answers (RFC 6749 §4)
    confidential_only: ClassVar[bool]             # RFC 6749 §4.4: e.g. client_credentials
    uses_storage: ClassVar[bool]                  # reads or writes more than the cached client, keys and APIs
    def handle(self, request: TokenRequest) -> TokenResponse

`handle` runs in a worker thread (it may block on the database) — or, for a grant
that declares ``uses_storage = False`` (client_credentials), on the event loop
when the client record, the key ring and the API list all answer from the
caches' `peek()` (oauth2/token_endpoint.py `serve`). It receives an
already authenticated client that is allowed to use this grant, validates
the grant-specific parameters, issues through the access-token issuer it was
given (and the refresh token store when a refresh token is due) and
returns a `TokenResponse`; on a protocol error it raises an `OAuthError`
subclass. The token endpoint writes the `token.issued` audit event.

A grant receives what it uses in its constructor (the database, its stores,
the token issuers), not the whole `Services`; `default_registry()` is where
they are wired. What a grant needs of OpenID Connect comes in as `OpenIdHooks`,
built by services.py from oidc/: oauth2 imports nothing from oidc.

Adding a grant touches its own module and one line in `default_registry()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from authgate.accounts.login import PasswordLogin
from authgate.oauth2.client_auth import AuthenticatedClient
from authgate.oauth2.form import Form
from authgate.oauth2.token_response import TokenResponse

if TYPE_CHECKING:
    from authgate.oauth2.grants.authorization_code import CodeIdTokenIssuer
    from authgate.oauth2.grants.refresh_token import IdTokenIssuer
    from authgate.services import Services


@dataclass(frozen=True)
class TokenRequest:
    """One token request as a grant sees it: the authenticated client, the form, the caller's address.
    What a grant works with (stores, database, signer) it was given when it was built."""

    client: AuthenticatedClient
    form: Form
    ip: str


class Grant(Protocol):
    grant_type: ClassVar[str]
    confidential_only: ClassVar[bool]
    uses_storage: ClassVar[bool]

    def handle(self, request: TokenRequest) -> TokenResponse: ...


@dataclass(frozen=True)
class OpenIdHooks:
    """What the grants take from OpenID Connect (oidc/), handed down at wiring time by services.py."""

    code_id_token: CodeIdTokenIssuer  # OIDC Core §3.1.3.3
    refresh_id_token: IdTokenIssuer  # OIDC Core §12.2
    userinfo_audience: Callable[[], str]  # the audience of an OpenID login that named no API (oidc/scopes.py)


class GrantRegistry:
    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}

    def register(self, grant: Grant) -> None:
        if grant.grant_type in self._grants:
            raise ValueError(f"grant type {grant.grant_type!r} registered twice")
        self._grants[grant.grant_type] = grant

    def get(self, grant_type: str) -> Grant | None:
        return self._grants.get(grant_type)

    def __iter__(self) -> Iterator[str]:
        return iter(self._grants)


def default_registry(services: Services, openid: OpenIdHooks) -> GrantRegistry:
    """Every grant, each given what it uses."""
    from authgate.oauth2.grants.authorization_code import AuthorizationCodeGrant
    from authgate.oauth2.grants.client_credentials import ClientCredentialsGrant
    from authgate.oauth2.grants.password import PasswordGrant
    from authgate.oauth2.grants.refresh_token import RefreshTokenGrant

    oauth2 = services.oauth2
    registry = GrantRegistry()
    registry.register(AuthorizationCodeGrant(
        database=services.database, codes=oauth2.authorization_codes, refresh_tokens=oauth2.refresh_tokens,
        revocations=oauth2.revocations, access_tokens=services.access_tokens, keys=services.keys,
        settings=services.settings, userinfo_audience=openid.userinfo_audience, id_tokens=openid.code_id_token,
    ))
    registry.register(ClientCredentialsGrant(clients=oauth2.clients, access_tokens=services.access_tokens))
    registry.register(RefreshTokenGrant(
        refresh_tokens=oauth2.refresh_tokens, database=services.database, access_tokens=services.access_tokens,
        metrics=services.metrics, id_tokens=openid.refresh_id_token,  # OIDC Core §12.2
    ))
    registry.register(PasswordGrant(
        login=PasswordLogin(services), database=services.database, settings=services.settings,
        clients=oauth2.clients, refresh_tokens=oauth2.refresh_tokens, access_tokens=services.access_tokens,
    ))
    return registry
