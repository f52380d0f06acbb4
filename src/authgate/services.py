"""The service layer: one `Realm` per transaction, reached through `Services`.

The CLI, the admin API and the apply file all call these; they own the
transaction, raise domain errors (`authgate.errors`) and write the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from authgate import audit
from authgate.access.apis import ApiService
from authgate.access.clients import ClientService
from authgate.access.roles import RoleService
from authgate.accounts.passwords import PasswordHasher, PasswordPolicy
from authgate.accounts.users import UserService
from authgate.settings import Settings
from authgate.storage.database import Database

if TYPE_CHECKING:
    from authgate.accounts.factor_secrets import FactorSecrets
    from authgate.accounts.throttle import Throttle
    from authgate.mail.mailer import Mailer
    from authgate.oauth2.access_tokens import AccessTokens
    from authgate.oauth2.keys import KeyStore
    from authgate.oauth2.runtime import OAuthRuntime
    from authgate.outbox import OutboxSender


class Realm:
    """Every service, bound to one session and one actor (who the audit log names)."""

    def __init__(self, session: Session, hasher: PasswordHasher, policy: PasswordPolicy, actor: str) -> None:
        self.session = session
        self.hasher = hasher
        self.policy = policy
        self.actor = actor
        self.users = UserService(self)
        self.roles = RoleService(self)
        self.apis = ApiService(self)
        self.clients = ClientService(self)

    def changed(self, what: str, target: str, **detail: Any) -> None:
        """An admin change: audited with who did it, in the same transaction."""
        audit.record(self.session, audit.ADMIN_CHANGE, actor=self.actor, subject=target, change=what, **detail)


class Services:
    """Process-wide: settings, the database and the (costly to build) password hasher."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(
            settings.resolved_database_url, timeout=settings.database_timeout)

    @cached_property
    def hasher(self) -> PasswordHasher:
        return PasswordHasher.from_settings(self.settings)

    @cached_property
    def policy(self) -> PasswordPolicy:
        return PasswordPolicy.from_settings(self.settings)

    @cached_property
    def keys(self) -> KeyStore:
        from authgate.oauth2.keys import KeyStore

        return KeyStore(self)

    @cached_property
    def access_tokens(self) -> AccessTokens:
        from authgate.oauth2.access_tokens import AccessTokens

        return AccessTokens(self)

    @cached_property
    def oauth2(self) -> OAuthRuntime:
        """Client directory, grant registry, refresh token store, issuance log (see oauth2/runtime.py)."""
        from authgate.oauth2.runtime import OAuthRuntime

        return OAuthRuntime(self)

    @cached_property
    def throttle(self) -> Throttle:
        """Brute-force counters shared across processes (database, or Redis when configured)."""
        from authgate.accounts.throttle import Throttle

        return Throttle.from_settings(self.settings, self.database)

    @cached_property
    def factor_secrets(self) -> FactorSecrets:
        """Seals TOTP secrets and digests recovery codes with keys from the master key (accounts/factor_secrets.py)."""
        from authgate.accounts.factor_secrets import FactorSecrets

        return FactorSecrets.from_settings(self.settings)

    @cached_property
    def mailer(self) -> Mailer:
        """Composes messages and queues them in the outbox, in the caller's transaction (see mail/)."""
        from authgate.mail.mailer import Mailer
        from authgate.masterkey import MasterKey
        from authgate.outbox import Sealer

        return Mailer(self.settings, Sealer(MasterKey.from_settings(self.settings)))

    @cached_property
    def outbox(self) -> OutboxSender:
        """The background sender of queued messages; the app's lifespan starts and stops it."""
        from authgate.accounts.password_reset import REQUEST_KIND, ResetRequests
        from authgate.mail.delivery import deliverer_for
        from authgate.mail.mailer import KIND
        from authgate.outbox import OutboxSender, RetryPolicy

        deliverers = {KIND: deliverer_for(self.settings), REQUEST_KIND: ResetRequests(self)}
        return OutboxSender(self.database, deliverers, self.mailer.sealer, RetryPolicy.from_settings(self.settings),
                            poll_interval=self.settings.outbox_poll_interval)

    @contextmanager
    def realm(self, actor: str = "system") -> Iterator[Realm]:
        with self.database.transaction() as session:
            yield Realm(session, self.hasher, self.policy, actor)

    @contextmanager
    def reader(self) -> Iterator[Realm]:
        with self.database.reader() as session:
            yield Realm(session, self.hasher, self.policy, "reader")
