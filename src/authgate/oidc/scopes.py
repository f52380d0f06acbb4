"""What an authorization request asks for, read with the token endpoint's own rules (`oauth2.scopes`).

One difference: an OpenID Connect login may name no API at all (no
`audience`/`resource`, no client `default_audience`). Its access token is
then good for this server's userinfo endpoint only (`aud` = the userinfo
URL, as Auth0 does), and it may not ask for API permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from authgate.http import paths
from authgate.oauth2 import scopes
from authgate.oauth2.client_directory import ClientRecord
from authgate.oauth2.errors import InvalidScope
from authgate.oauth2.form import Form

if TYPE_CHECKING:
    from authgate.services import Services


@dataclass(frozen=True)
class RequestedAccess:
    requested: scopes.RequestedScope
    audience: str | None

    @property
    def scope(self) -> tuple[str, ...]:
        """OpenID scopes and permission names, as stored with the code."""
        return tuple(self.requested.names())

    @property
    def openid_scopes(self) -> tuple[str, ...]:
        return self.requested.oidc

    @property
    def permissions(self) -> tuple[str, ...] | None:
        """Permission names asked for; None means all the user holds for the audience."""
        return self.requested.permissions


def resolve_access(services: Services, client: ClientRecord, form: Form) -> RequestedAccess:
    # A client's registered scope (RFC 7591 §2) is its default, never a ceiling.
    requested = scopes.parse_scope(form.get("scope") or client.registered_scope)
    scopes.check_offline_access(requested, client)
    names_api = bool(form.get_all("resource") or form.get("audience") or client.default_audience)
    if not names_api:
        if requested.permissions:
            raise InvalidScope("Permissions were requested but no API (audience or resource) was named.")
        return RequestedAccess(requested, None)
    return RequestedAccess(requested, scopes.resolve_audience(form, client, services.oauth2.clients))


def userinfo_audience(services: Services) -> str:

    return services.settings.issuer + paths.USERINFO
