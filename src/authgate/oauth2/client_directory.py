"""Client records for the protocol endpoints, cached in-process for a few seconds.

The token endpoint is the hot path: looking a client up (with its direct
permissions) on every request would cost a database round-trip each time.
`ClientDirectory` keeps an immutable `ClientRecord` per client_id for
`settings.client_cache_seconds` (default 2 s; 0 disables the cache), plus the
set of known API identifiers and of registered web origins.

Invalidation: any transaction in this process that records an admin change
(`Realm.changed`, i.e. an `admin.change` audit event) bumps a process-wide
generation when it commits, and every directory drops its cache. Admin
changes made by another process are seen within the TTL. Secrets are held
only as their SHA-256 digests, as in the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from authgate import audit
from authgate.storage import limits
from authgate.storage.database import Database
from authgate.storage.models import Api, AuditEvent, Client, Permission, client_permissions
from authgate.storage.single_flight import SingleFlight


@dataclass(frozen=True)
class ClientRecord:
    """What the protocol needs to know about a client; a snapshot, safe to share between threads."""

    pk: int
    client_id: str
    type: str  # "public" | "confidential"
    secret_hash: str | None
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    web_origins: tuple[str, ...]
    first_party: bool
    default_audience: str | None
    disabled: bool
    name: str | None = None
    # Registered itself (RFC 7591); its registered `scope` is the default of requests that name none.
    dynamic: bool = False
    registered_scope: str | None = None
    # Direct permissions (machine clients), by API identifier.
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_confidential(self) -> bool:
        return self.type == "confidential"

    def permissions_for(self, audience: str) -> tuple[str, ...]:
        return self.permissions.get(audience, ())


class _Generation:
    """Bumped after any commit that carried an admin change in this process."""

    value = 0
    lock = threading.Lock()

    @classmethod
    def bump(cls) -> None:
        with cls.lock:
            cls.value += 1


@event.listens_for(Session, "after_flush")
def _note_admin_change(session: Session, _context: Any) -> None:
    if any(isinstance(obj, AuditEvent) and obj.type == audit.ADMIN_CHANGE for obj in session.new):
        session.info["authgate_admin_changed"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("authgate_admin_changed", False):
        _Generation.bump()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("authgate_admin_changed", None)


def invalidate_all() -> None:
    """Drop every directory's cache in this process (tests, or after out-of-band changes)."""
    _Generation.bump()


class ClientDirectory:
    def __init__(self, database: Database, ttl_seconds: float = 2.0) -> None:
        self.database = database
        self.ttl = ttl_seconds
        # Entries are reloaded this much before they expire, so that event-loop fast paths
        # (`is_warm`) keep finding them fresh: by the warmer (`warm`, half-way through the TTL)
        # or else by whichever worker thread comes first.
        self._fresh_for = ttl_seconds - min(0.5, ttl_seconds / 4)
        self._clients: dict[str, tuple[float, ClientRecord | None]] = {}
        self._used: dict[str, float] = {}  # client_id -> when last asked for (what the warmer keeps loaded)
        self._loading: dict[str, SingleFlight] = {}  # one load per client at a time
        self._audiences: tuple[float, frozenset[str]] | None = None
        self._origins: tuple[float, frozenset[str]] | None = None
        self._generation = _Generation.value

    def get(self, client_id: str) -> ClientRecord | None:
        """The client, or None if unknown (unknown ids are cached too: guessing costs no queries).

        An id no client can have (too long for the column, or text it cannot hold) is unknown
        without a query: it is whatever a caller sent, and PostgreSQL would refuse to compare it.
        """
        if not limits.is_storable(client_id, limits.CLIENT_ID):
            return None
        self._check_generation()
        cached = self._clients.get(client_id)
        if cached is not None and time.monotonic() - cached[0] < self._fresh_for:
            self._used[client_id] = time.monotonic()
            return cached[1]
        # Single flight: concurrent callers wait for one load and share its result (or its outage).
        with self._loading.setdefault(client_id, SingleFlight()).turn():
            cached = self._clients.get(client_id)
            if cached is not None and time.monotonic() - cached[0] < self._fresh_for:
                return cached[1]
            return self._reload(client_id)

    def is_warm(self, client_id: str, *, audiences: bool = True) -> bool:
        """Whether `get(client_id)` (and `known_audiences()`, unless told not to) will answer from memory now."""
        if self._generation != _Generation.value:
            return False
        cached = self._clients.get(client_id)
        now = time.monotonic()
        if cached is None or now - cached[0] >= self._fresh_for:
            return False
        self._used[client_id] = now
        return not audiences or (self._audiences is not None and now - self._audiences[0] < self._fresh_for)

    def warm(self) -> None:
        """Reload, ahead of expiry, every entry asked for within the last TTL (the warmer calls this)."""
        if self.ttl <= 0:
            return
        self._check_generation()
        now = time.monotonic()
        ahead = self.ttl / 2
        for client_id, (loaded_at, _record) in list(self._clients.items()):
            if now - loaded_at >= ahead and now - self._used.get(client_id, 0.0) < self.ttl:
                with self._loading.setdefault(client_id, SingleFlight()).turn():
                    self._reload(client_id)
        if self._audiences is not None and now - self._audiences[0] >= ahead:
            self._load_audiences()
        if self._origins is not None and now - self._origins[0] >= ahead:
            self._load_origins()

    def known_audiences(self) -> frozenset[str]:
        """Identifiers of every API (RFC 8707 targets this server issues tokens for)."""
        self._check_generation()
        audiences = self._audiences
        if audiences is None or time.monotonic() - audiences[0] >= self._fresh_for:
            return self._load_audiences()
        return audiences[1]

    def origin_registered(self, origin: str) -> bool:
        """Whether any client lists `origin` among its web_origins (CORS preflight)."""
        self._check_generation()
        origins = self._origins
        if origins is None or time.monotonic() - origins[0] >= self._fresh_for:
            return origin in self._load_origins()
        return origin in origins[1]

    def _check_generation(self) -> None:
        if self._generation != _Generation.value:
            self._generation = _Generation.value
            self._clients = {}
            self._audiences = None
            self._origins = None

    def _reload(self, client_id: str) -> ClientRecord | None:
        """Load and cache one client (the caller holds its loading lock)."""
        generation, loaded_at = _Generation.value, time.monotonic()
        record = self._load(client_id)
        if self.ttl > 0 and generation == _Generation.value:  # not if an admin change landed meanwhile
            if len(self._clients) > 10_000:
                self._clients, self._used, self._loading = {}, {}, {}
            self._clients[client_id] = (loaded_at, record)
        return record

    def _load_audiences(self) -> frozenset[str]:
        loaded_at = time.monotonic()
        with self.database.reader() as session:
            audiences = frozenset(session.scalars(select(Api.identifier)))
        self._audiences = (loaded_at, audiences)
        return audiences

    def _load_origins(self) -> frozenset[str]:
        loaded_at = time.monotonic()
        with self.database.reader() as session:
            origins = frozenset(o for listed in session.scalars(select(Client.web_origins)) for o in listed or ())
        self._origins = (loaded_at, origins)
        return origins

    def _load(self, client_id: str) -> ClientRecord | None:
        # One round-trip: the client row outer-joined with its direct permissions.
        statement = (
            select(Client, Api.identifier, Permission.name)
            .outerjoin(client_permissions, client_permissions.c.client_pk == Client.id)
            .outerjoin(Permission, Permission.id == client_permissions.c.permission_id)
            .outerjoin(Api, Api.id == Permission.api_id)
            .where(Client.client_id == client_id)
        )
        with self.database.reader() as session:
            rows = session.execute(statement).all()
        if not rows:
            return None
        client = rows[0][0]
        grouped: dict[str, list[str]] = {}
        for _client, identifier, name in rows:
            if identifier is not None and name is not None:
                grouped.setdefault(identifier, []).append(name)
        return ClientRecord(
            pk=client.id, client_id=client.client_id, type=client.type, secret_hash=client.secret_hash,
            grant_types=frozenset(client.grant_types or ()), redirect_uris=tuple(client.redirect_uris or ()),
            post_logout_redirect_uris=tuple(client.post_logout_redirect_uris or ()),
            web_origins=tuple(client.web_origins or ()), first_party=bool(client.first_party),
            default_audience=client.default_audience, disabled=bool(client.disabled), name=client.name,
            dynamic=bool(client.dynamic), registered_scope=client.registered_scope,
            permissions={identifier: tuple(sorted(names)) for identifier, names in grouped.items()},
        )
