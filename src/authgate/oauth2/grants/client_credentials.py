"""The client credentials grant (RFC 6749 §4.4): a machine client acting for itself.

The token's `sub` is the client's (`client_subject`: its client_id, never a
user's `sub`); its `permissions` are the client's direct permissions for the
audience, narrowed by any requested permission names.
No refresh token (RFC 6749 §4.4.3: SHOULD NOT) and no OIDC scope (no user).
This path touches no database table when the client directory is warm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from authgate.oauth2 import scopes
from authgate.oauth2.errors import InvalidScope
from authgate.oauth2.grants import TokenRequest
from authgate.oauth2.token_response import TokenResponse
from authgate.subjects import client_subject

if TYPE_CHECKING:
    from authgate.oauth2.access_tokens import AccessTokens
    from authgate.oauth2.client_directory import ClientDirectory


class ClientCredentialsGrant:
    grant_type: ClassVar[str] = "client_credentials"
    confidential_only: ClassVar[bool] = True  # RFC 6749 §4.4: MUST only be used by confidential clients
    uses_storage: ClassVar[bool] = False  # the client record, key ring and API list are all it reads

    def __init__(self, *, clients: ClientDirectory, access_tokens: AccessTokens) -> None:
        self.clients = clients
        self.access_tokens = access_tokens

    def handle(self, request: TokenRequest) -> TokenResponse:
        client = request.client.client
        requested = scopes.parse_scope(request.form.get("scope"))
        if requested.oidc:
            raise InvalidScope(f"Scope {requested.oidc[0]!r} needs a user; client_credentials has none.")
        audience = scopes.resolve_audience(request.form, client, self.clients)
        permissions, scope = scopes.granted_scope(requested, client.permissions_for(audience))
        access = self.access_tokens.issue(
            subject=client_subject(client.client_id), client_id=client.client_id, audience=audience,
            scope=scope, permissions=permissions,
        )
        return TokenResponse(access, scope=scope, subject_name=client.client_id)
