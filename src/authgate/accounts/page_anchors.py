"""Sampled usernames that numbered user pages seek from (see admin/pagination.py).

Every `stride`-th username, read in one scan of the username index, kept in an
`authgate.caching.Cache` keyed by the stride. `get` may read the sample (the
first time, or once it is twice `retake_after` old); past `retake_after` it is
retaken in a background thread while the old one serves. One per `Services`
(`services.user_page_anchors`), built with the function that reads the sample.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from authgate.caching import Cache

logger = logging.getLogger("authgate.admin")
SAMPLE_TTL = 60.0


@dataclass(frozen=True)
class Sample:
    anchors: Sequence[str]  # anchors[i] is the username at position (i + 1) * stride - 1
    stride: int
    taken_at: float


class UserPageAnchors:
    def __init__(self, every_nth_username: Callable[[int], Sequence[str]], *,
                 clock: Callable[[], float] = time.monotonic, retake_after: float = SAMPLE_TTL) -> None:
        self._every_nth_username = every_nth_username
        self.retake_after = retake_after
        self._clock = clock
        self._samples: Cache[int, Sample] = Cache(self._take, ttl=2 * retake_after, clock=clock)
        self._retaking = threading.Lock()

    def get(self, stride: int) -> Sample:
        """The sample at `stride` (may read it); a stale one is retaken in the background."""
        sample = self._samples.get(stride)
        if self._clock() - sample.taken_at >= self.retake_after and self._retaking.acquire(blocking=False):
            threading.Thread(target=self._retake, args=(stride,), name="authgate-page-anchors", daemon=True).start()
        return sample

    def _retake(self, stride: int) -> None:
        try:
            self._samples.get(stride, max_age=self.retake_after)
        except Exception:  # the old sample stays; the next request tries again
            logger.warning("could not refresh the user page anchors", exc_info=True)
        finally:
            self._retaking.release()

    def _take(self, stride: int) -> Sample:
        taken_at = self._clock()
        return Sample(self._every_nth_username(stride), stride, taken_at)
