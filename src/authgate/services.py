"""The service layer: one `Realm` per transaction, reached through `Services`.

The CLI, the admin API and the apply file all call these; they own the
transaction, raise domain errors (`authgate.errors`) and write the audit log.

`Services` is also where the process is composed: it sits above the domain
and protocol packages and imports them at the top, in plain sight; they name
`Services` only for type checking (docs/architecture.md, tests/unit/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property, partial
from typing import Any

from sqlalchemy.orm import Session

from authgate import audit
from authgate.access.apis import ApiService
from authgate.access.changes import AccessChanges
from authgate.access.clients import ClientService
from authgate.access.roles import RoleService
from authgate.accounts.factor_secrets import FactorSecrets
from authgate.accounts.page_anchors import UserPageAnchors
from authgate.accounts.password_reset import REQUEST_KIND, ResetRequests
from authgate.accounts.passwords import PasswordHasher, PasswordPolicy
from authgate.accounts.throttle import Throttle
from authgate.accounts.users import UserService
from authgate.federation.runtime import Federation
from authgate.mail.delivery import deliverer_for
from authgate.mail.mailer import KIND, Mailer
from authgate.masterkey import MasterKey
from authgate.metrics import Metrics
from authgate.oauth2.access_tokens import AccessTokens
from authgate.oauth2.grants import OpenIdHooks
from authgate.oauth2.keys import KeyStore
from authgate.oauth2.runtime import OAuthRuntime
from authgate.oidc import id_tokens
from authgate.oidc.scopes import userinfo_audience
from authgate.outbox import OutboxSender, RetryPolicy, Sealer
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.webhooks import delivery, fanout
from authgate.webhooks.subscriptions import WebhookService


class Realm:
    """Every service, bound to one session and one actor (who the audit log names)."""

    def __init__(self, session: Session, hasher: PasswordHasher, policy: PasswordPolicy, actor: str,
                 master_key: Callable[[], MasterKey] | None = None, access_changes: AccessChanges | None = None,
                 ) -> None:
        self.session = session
        self.hasher = hasher
        self.policy = policy
        self.actor = actor
        # Changes to clients and APIs, for the protocol caches once the transaction commits.
        self.access_changes = access_changes if access_changes is not None else AccessChanges()
        self.users = UserService(self)
        self.roles = RoleService(self)
        self.apis = ApiService(self)
        self.clients = ClientService(self)
        self.webhooks = WebhookService(self, master_key)

    def changed(self, what: str, target: str, **detail: Any) -> None:
        """An admin change: audited with who did it, in the same transaction."""
        audit.record(self.session, audit.ADMIN_CHANGE, actor=self.actor, subject=target, change=what, **detail)


class Services:
    """Process-wide: settings, the database and the (costly to build) password hasher."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(
            settings.resolved_database_url, timeout=settings.database_timeout)
        # Every audited event may be a webhook event: queued with it, in its transaction (webhooks/fanout.py).
        self.database.session_info[audit.FOLLOWERS] = (fanout.queue_event,)

    @cached_property
    def metrics(self) -> Metrics:
        """This process's Prometheus metrics (metrics.py); its pool and outbox watched from the start."""
        metrics = Metrics()
        metrics.watch_database(self.database)
        return metrics

    @cached_property
    def hasher(self) -> PasswordHasher:
        return PasswordHasher.from_settings(self.settings)

    @cached_property
    def policy(self) -> PasswordPolicy:
        return PasswordPolicy.from_settings(self.settings)

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self)

    @cached_property
    def access_tokens(self) -> AccessTokens:
        return AccessTokens(self)

    @cached_property
    def oauth2(self) -> OAuthRuntime:
        """Client directory, grant registry, token stores, issuance log (see oauth2/runtime.py); the grants
        take what they need of OpenID Connect from oidc/ here, so oauth2 imports nothing from it."""
        return OAuthRuntime(self, OpenIdHooks(code_id_token=partial(id_tokens.for_code, self),
                                              refresh_id_token=partial(id_tokens.for_refresh, self),
                                              userinfo_audience=partial(userinfo_audience, self)))

    @cached_property
    def user_page_anchors(self) -> UserPageAnchors:
        """Sampled usernames that numbered user pages seek from (admin/pagination.py)."""
        return UserPageAnchors(self._every_nth_username)

    def _every_nth_username(self, stride: int) -> Sequence[str]:
        with self.reader() as realm:
            return realm.users.every_nth_username(stride)

    @cached_property
    def throttle(self) -> Throttle:
        """Brute-force counters shared across processes (database, or Redis when configured)."""
        return Throttle.from_settings(self.settings, self.database)

    @cached_property
    def master_key(self) -> MasterKey:
        """Encrypts what is kept secret at rest (signing keys, outbox bodies, webhook secrets)."""
        return MasterKey.from_settings(self.settings)

    @cached_property
    def factor_secrets(self) -> FactorSecrets:
        """Seals TOTP secrets and digests recovery codes with keys from the master key (accounts/factor_secrets.py)."""
        return FactorSecrets.from_settings(self.settings)

    @cached_property
    def mailer(self) -> Mailer:
        """Composes messages and queues them in the outbox, in the caller's transaction (see mail/)."""
        return Mailer(self.settings, Sealer(self.master_key))

    @cached_property
    def outbox(self) -> OutboxSender:
        """The background sender of queued messages; the app's lifespan starts and stops it."""
        deliverers = {KIND: deliverer_for(self.settings), REQUEST_KIND: ResetRequests(self),
                      fanout.KIND: delivery.WebhookDeliverer(self.database, self.master_key, self.settings)}
        return OutboxSender(self.database, deliverers, self.mailer.sealer, RetryPolicy.from_settings(self.settings),
                            poll_interval=self.settings.outbox_poll_interval, on_failure=self.metrics.outbox_failure)

    def master_key_provider(self) -> MasterKey:
        """For a Realm: the master key, loaded only when a secret is sealed or opened."""
        return self.master_key

    @cached_property
    def federation(self) -> Federation:
        """Signing in with other identity providers: upstream client and caches, attempts (see federation/)."""
        return Federation(self)

    @contextmanager
    def realm(self, actor: str = "system") -> Iterator[Realm]:
        """A transaction; once it commits, the client directory forgets what it changed."""
        changes = AccessChanges()
        with self.database.transaction() as session:
            yield Realm(session, self.hasher, self.policy, actor, self.master_key_provider, changes)
        if changes:
            self.oauth2.clients.changed(changes.client_ids, apis=changes.apis)

    @contextmanager
    def reader(self) -> Iterator[Realm]:
        with self.database.reader() as session:
            yield Realm(session, self.hasher, self.policy, "reader", self.master_key_provider)
