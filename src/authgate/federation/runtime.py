"""What the federation pages share in one process: the upstream client and caches, sealed secrets, attempts.

Also what happens around a federated session: when it starts (after the
second factor, when one is asked for) the identity waiting to be linked is
linked and the provider that signed it in is remembered; when it ends, the
provider is sent the browser to end its own session too, if its entry asks
for it (`upstream_logout`) and its discovery names an `end_session_endpoint`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from authgate.clock import utcnow
from authgate.federation.attempts import AfterSecondStep, Attempts, UpstreamSignIn
from authgate.federation.identities import UpstreamIdentity, link_proven
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
LOGGED_OUT_PATH = "/login/idp/{alias}/logged-out"


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

    def post_logout_redirect_uri(self, alias: str) -> str:
        """Where the provider sends the browser back after logging it out: to register there too."""
        return self.services.settings.issuer.rstrip("/") + LOGGED_OUT_PATH.format(alias=alias)

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

    # --- a federated session ----------------------------------------------------------------------
    def session_started(self, sid: str, user_id: int, upstream: UpstreamSignIn) -> None:
        """Remember which provider signed session `sid` in (and its ID token, to log out there), as long as
        the session can live."""
        expires_at = utcnow() + timedelta(seconds=self.services.settings.session_absolute_ttl)
        self.attempts.remember_session(sid, user_id, upstream, expires_at)

    def link_and_start(self, sid: str, user_id: int, username: str, upstream: UpstreamSignIn,
                       link: UpstreamIdentity | None, *, ip: str | None) -> None:
        """The session of a federated sign-in started: link the identity that waited for it (the account was
        proven by its password, and by its second factor when it has one), remember the provider."""
        if link is not None:
            with self.services.realm(actor=username) as realm:
                link_proven(realm, user_id, link, ip=ip, proven_by="password")
        self.session_started(sid, user_id, upstream)

    def second_step_done(self, pending: str, user_id: int, username: str, sid: str, *, replaced_sid: str | None,
                         ip: str | None) -> None:
        """Pending login `pending` ended in session `sid` (its second factor was shown): if a federated sign-in
        waits for it, do now what it left for then; if it was a step-up of federated session `replaced_sid`,
        the new session was signed in through the same provider."""
        after: AfterSecondStep | None = self.attempts.take_after_second_step(pending, user_id)
        if after is not None:
            self.link_and_start(sid, user_id, username, after.upstream, after.link, ip=ip)
            return
        stepped_up = self.attempts.take_session(replaced_sid) if replaced_sid else None
        if stepped_up is not None:
            self.session_started(sid, user_id, stepped_up)

    def upstream_logout_url(self, sid: str, browser: str, finish: Mapping[str, Any]) -> str | None:
        """Session `sid` ended: the provider's end_session_endpoint to send the browser to, or None (only authgate's
        session ends: not signed in through a provider, no `upstream_logout`, no end_session_endpoint, or the
        provider cannot be reached). `finish`: how to end authgate's logout when the browser comes back."""
        signed_in = self.attempts.take_session(sid)
        if signed_in is None or signed_in.id_token is None:
            return None
        provider = self.read_provider(signed_in.alias)
        if provider is None or not provider.spec.upstream_logout:
            return None
        try:
            metadata = self.upstream.metadata(provider.spec)
        except UpstreamError as error:
            logger.warning("identity provider %s: not logged out there: %s (%s)", signed_in.alias, error.message,
                           error.debug)
            return None
        if metadata.end_session_endpoint is None:
            return None
        state = self.attempts.begin_logout(signed_in.alias, browser, dict(finish))
        return self.upstream.end_session_url(provider.spec, metadata, id_token=signed_in.id_token, state=state,
                                             post_logout_redirect_uri=self.post_logout_redirect_uri(signed_in.alias))

    def close(self) -> None:
        self.upstream.close()
