"""Page N of the users in username order, as fast on a million users as on a hundred.

`UserService.page` finds page N exactly by walking the username index to
position (N-1)·size: an index-only scan whose cost grows with N (a quarter of
a million entries for page 5,000 of 50). Here every STRIDE-th username is
sampled (one scan of the index; once SAMPLE_TTL seconds old, the sample is
retaken in the background while the old one serves), so a page starts from
the nearest anchor and walks fewer than STRIDE index entries, then reads one
keyset page. The sample is an `authgate.caching.Cache` entry held by
`UserPageAnchors`, one per `Services` (`services.user_page_anchors`).

Pages are exact as of the sample. Users added or removed since shift the
later pages by that many rows until the next sample — as any numbered page
shifts between two requests while the table changes. Keyset cursors (`after`)
are always exact; searches and the first STRIDE rows seek exactly too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authgate.caching import Cache
from authgate.services import Realm
from authgate.storage.models import User

if TYPE_CHECKING:
    from authgate.services import Services

logger = logging.getLogger("authgate.admin")
STRIDE = 1000
SAMPLE_TTL = 60.0
LAST_PAGE = 1_000_000  # the highest page number asked for (the API and the console refuse more)


@dataclass(frozen=True)
class Sample:
    anchors: Sequence[str]  # anchors[i] is the username at position (i + 1) * STRIDE - 1
    stride: int
    taken_at: float


class UserPageAnchors:
    """The sample of one database. `get` may read it (the first time, or once it is twice SAMPLE_TTL
    old); past SAMPLE_TTL it is retaken in a background thread while the old one serves."""

    def __init__(self, services: Services, *, clock: Callable[[], float] = time.monotonic,
                 retake_after: float = SAMPLE_TTL) -> None:
        self.services = services
        self.retake_after = retake_after
        self._clock = clock
        self._samples: Cache[None, Sample] = Cache(self._take, ttl=2 * retake_after, clock=clock)
        self._retaking = threading.Lock()

    def get(self) -> Sample:
        sample = self._samples.get(None)
        if sample.stride != STRIDE:  # STRIDE changed (tests): this sample cannot serve
            self._samples.invalidate(None)
            sample = self._samples.get(None)
        if self._clock() - sample.taken_at >= self.retake_after and self._retaking.acquire(blocking=False):
            threading.Thread(target=self._retake, name="authgate-page-anchors", daemon=True).start()
        return sample

    def _retake(self) -> None:
        try:
            self._samples.get(None, max_age=self.retake_after)
        except Exception:  # the old sample stays; the next request tries again
            logger.warning("could not refresh the user page anchors", exc_info=True)
        finally:
            self._retaking.release()

    def _take(self, _: None) -> Sample:
        taken_at = self._clock()
        with self.services.reader() as realm:
            return Sample(realm.users.every_nth_username(STRIDE), STRIDE, taken_at)


def users_page(realm: Realm, anchors: UserPageAnchors, number: int, *, size: int,
               prefix: str | None = None) -> Sequence[User]:
    """Page `number` (1-based) of `UserService.list`."""
    first = (number - 1) * size
    if prefix or first < STRIDE:
        return realm.users.page(number, size=size, prefix=prefix)
    sample = anchors.get()
    block = min(first // sample.stride, len(sample.anchors))
    if block == 0:
        return realm.users.page(number, size=size)
    anchor = sample.anchors[block - 1]
    skip = first - block * sample.stride  # rows between the anchor and the page's first row
    previous = anchor if skip == 0 else realm.users.username_at(skip - 1, after=anchor)
    if previous is None:
        return []
    return realm.users.list(after=previous, limit=size)
