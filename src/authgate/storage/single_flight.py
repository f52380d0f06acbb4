"""One load at a time, its failure shared with those who waited for it.

A cache reloaded from the database lets one caller load while the others wait (single flight).
Should the database be unavailable, each waiter would then load in its turn and wait out its own
timeout: N callers, N timeouts in a row, the last one answered after N times the bound. Instead a
caller that waited for a load that failed with `DatabaseUnavailable` fails the same way at once;
the next caller to arrive afterwards tries anew.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from authgate.storage.database import DatabaseUnavailable


class SingleFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed_at = float("-inf")  # time.monotonic() of the last load that failed

    @contextmanager
    def turn(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the turn to load: yields True. With `wait` false, yields False at once (holding
        nothing) while another caller has it. Raises `DatabaseUnavailable` if the load waited for
        failed with it."""
        asked_at = time.monotonic()
        if not self._lock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._failed_at >= asked_at:
                raise DatabaseUnavailable("the load this caller waited for failed")
            try:
                yield True
            except DatabaseUnavailable:
                self._failed_at = time.monotonic()
                raise
        finally:
            self._lock.release()
