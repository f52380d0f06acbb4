"""What the federation pages share in one process: the upstream client and caches, sealed secrets, attempts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authgate.federation.attempts import Attempts
from authgate.federation.providers import (
    IdentityProviders,
    ProviderSecrets,
    ProviderSpec,
    spec_from_row,
)
from authgate.federation.upstream import Upstream, UpstreamError
from authgate.masterkey import MasterKey

if TYPE_CHECKING:
    from authgate.services import Realm, Services

logger = logging.getLogger("authgate.federation")
CALLBACK_PATH = "/login/idp/{alias}/callback"


@dataclass(frozen=True)
class Provider:
    """An enabled provider as a sign-in needs it: its spec and its client secret (None: none stored)."""

    spec: ProviderSpec
    secret: str | None


class Federation:
    def __init__(self, services: Services, upstream: Upstream | None = None) -> None:
        settings = services.settings
        self.services = services
        master = MasterKey.from_settings(settings)
        self.secrets = ProviderSecrets(master)
        self.attempts = Attempts(services.database, master, settings.federation_login_ttl)
        self.upstream = upstream or Upstream(
            timeout=settings.federation_http_timeout, discovery_ttl=settings.federation_discovery_ttl,
            jwks_refetch_interval=settings.federation_jwks_refetch_interval,
            clock_skew=settings.federation_clock_skew)

    def redirect_uri(self, alias: str) -> str:
        """Where the provider sends the browser back: the redirect URI to register there."""
        return self.services.settings.issuer.rstrip("/") + CALLBACK_PATH.format(alias=alias)

    def providers(self, realm: Realm) -> IdentityProviders:
        return IdentityProviders(realm, self.secrets)

    def read_enabled(self) -> Sequence[ProviderSpec]:
        """Every enabled provider, from the database (the login page lists them)."""
        with self.services.reader() as realm:
            return [spec_from_row(row) for row in self.providers(realm).list() if not row.disabled]

    def read_provider(self, alias: str) -> Provider | None:
        """The enabled provider `alias`, with its secret opened; None when unknown or disabled."""
        with self.services.reader() as realm:
            row = self.providers(realm).find(alias)
            if row is None or row.disabled:
                return None
            secret = self.secrets.open(row.alias, row.client_secret_encrypted) if row.client_secret_encrypted else None
            return Provider(spec_from_row(row), secret)

    def check(self, spec: ProviderSpec) -> str | None:
        """What is wrong with reaching this provider right now (its discovery), or None."""
        try:
            self.upstream.metadata(spec)
        except UpstreamError as error:
            logger.warning("identity provider %s: %s (%s)", spec.alias, error.message, error.debug)
            return f"{error.message} ({spec.issuer or spec.authorization_endpoint})"
        return None

    def check_and_mark(self, aliases: Sequence[str]) -> dict[str, str]:
        """Check each provider can be reached (its discovery); remember the outcome on it.

        Returns the problems by alias. A provider with a problem stays saved and offered: the
        problem is shown in the console, and a sign-in through it ends on a clear page until it works.
        """
        problems: dict[str, str] = {}
        for alias in aliases:
            with self.services.reader() as realm:
                row = self.providers(realm).find(alias)
                spec = spec_from_row(row) if row is not None else None
            if spec is None:
                continue
            problem = self.check(spec)
            if problem is not None:
                problems[alias] = problem
            with self.services.realm(actor="authgate") as realm:
                self.providers(realm).mark(alias, problem)
        return problems
