"""A clock the test moves by hand."""

from __future__ import annotations

import time


class FakeClock:
    """Seconds since the epoch, frozen until ``advance``.

    Pass it to the guard as ``clock=`` (``exp``/``nbf`` checks) and
    ``monotonic=`` (key refetch interval), and to ``TestIssuer(clock=...)``,
    so a test moves time instead of sleeping.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward (or back, with a negative number)."""
        self.now += seconds
