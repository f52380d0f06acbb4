"""Usernames by user subject, for introspection's `username` member (RFC 7662 §2.2).

Usernames never change, so a minute in memory (an `authgate.caching.Cache`,
bounded: the subjects come from the tokens callers send) is safe; a deleted
user's tokens stay valid until they expire, as with any JWT.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from authgate.accounts.users import user_by_subject
from authgate.caching import Cache, Miss
from authgate.storage.database import Database

CACHE_SECONDS = 60.0
MAX_ENTRIES = 50_000


class Usernames:
    """`get` may read the database; `peek` answers from memory only."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self._names: Cache[str, str | None] = Cache(self._load, ttl=CACHE_SECONDS, clock=clock, max_entries=MAX_ENTRIES)

    def get(self, subject: str) -> str | None:
        """The username of the user with this subject; None if there is none."""
        return self._names.get(subject)

    def peek(self, subject: str) -> str | Miss | None:
        return self._names.peek(subject)

    def _load(self, subject: str) -> str | None:
        with self.database.reader() as session:
            user = user_by_subject(session, subject)
            return user.username if user is not None else None
