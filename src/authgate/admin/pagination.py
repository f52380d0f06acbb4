"""Page N of the users in username order, as fast on a million users as on a hundred.

`UserService.page` finds page N exactly by walking the username index to
position (N-1)·size: an index-only scan whose cost grows with N (a quarter of
a million entries for page 5,000 of 50). Here every STRIDE-th username is
sampled (one scan of the index; once SAMPLE_TTL seconds old, the sample is
retaken in the background while the old one serves), per process and
database, so a page starts from the nearest anchor and walks fewer than
STRIDE index entries, then reads one keyset page.

Pages are exact as of the sample. Users added or removed since shift the
later pages by that many rows until the next sample — as any numbered page
shifts between two requests while the table changes. Keyset cursors (`after`)
are always exact; searches and the first STRIDE rows seek exactly too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary, WeakSet

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from authgate.services import Realm
from authgate.storage.models import User

logger = logging.getLogger("authgate.admin")
STRIDE = 1000
SAMPLE_TTL = 60.0
LAST_PAGE = 1_000_000  # the highest page number asked for (the API and the console refuse more)


@dataclass(frozen=True)
class _Sample:
    anchors: Sequence[str]  # anchors[i] is the username at position (i + 1) * STRIDE - 1
    stride: int
    taken_at: float


_samples: WeakKeyDictionary[Engine, _Sample] = WeakKeyDictionary()
_refreshing: WeakSet[Engine] = WeakSet()
_lock = threading.Lock()


def users_page(realm: Realm, number: int, *, size: int, prefix: str | None = None) -> Sequence[User]:
    """Page `number` (1-based) of `UserService.list`."""
    first = (number - 1) * size
    if prefix or first < STRIDE:
        return realm.users.page(number, size=size, prefix=prefix)
    sample = _sample(realm)
    block = min(first // sample.stride, len(sample.anchors))
    if block == 0:
        return realm.users.page(number, size=size)
    anchor = sample.anchors[block - 1]
    skip = first - block * sample.stride  # rows between the anchor and the page's first row
    previous = anchor if skip == 0 else realm.users.username_at(skip - 1, after=anchor)
    if previous is None:
        return []
    return realm.users.list(after=previous, limit=size)


def _sample(realm: Realm) -> _Sample:
    """The anchors; a stale sample is used once more while a fresh one is taken in the background."""
    engine = realm.session.get_bind()
    assert isinstance(engine, Engine)
    with _lock:
        sample = _samples.get(engine)
        stale = sample is not None and time.monotonic() - sample.taken_at > SAMPLE_TTL
        if stale and engine not in _refreshing:
            _refreshing.add(engine)
            threading.Thread(target=_refresh, args=(engine, realm), daemon=True).start()
    if sample is None or sample.stride != STRIDE:
        sample = _take(realm)
        with _lock:
            _samples[engine] = sample
    return sample


def _take(realm: Realm) -> _Sample:
    return _Sample(realm.users.every_nth_username(STRIDE), STRIDE, time.monotonic())


def _refresh(engine: Engine, realm: Realm) -> None:
    try:
        with Session(engine) as session, session.begin():
            sample = _take(Realm(session, realm.hasher, realm.policy, realm.actor, realm.webhooks.master_key))
        with _lock:
            _samples[engine] = sample
    except Exception:  # the old sample stays; the next request tries again
        logger.warning("could not refresh the user page anchors", exc_info=True)
    finally:
        with _lock:
            _refreshing.discard(engine)
