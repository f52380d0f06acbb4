"""Password hashing (argon2id) and the password policy (NIST SP 800-63B §5.1.1.2).

A password is never logged, stored, repr'd or put in an error message: only
its argon2id hash leaves this module.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from authgate.accounts import legacy_hashes
from authgate.errors import InvalidInput, WeakPassword

if TYPE_CHECKING:
    from authgate.settings import Settings

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    # The stored hash should be replaced by `new_hash` (old parameters or a legacy format).
    new_hash: str | None = None


class PasswordHasher:
    """argon2id at the configured cost; verifies legacy imports and upgrades them."""

    def __init__(
        self, memory_kib: int = 19456, time_cost: int = 2, parallelism: int = 1, threads: int | None = None
    ) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # Verified against for unknown users, so they cost the same work (no timing oracle).
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(16))
        # Every computation runs on one of a few dedicated threads (by default one per core): more
        # would only queue for CPU while each held `memory_kib` (a burst of 40 logins would take
        # 40 × 19 MiB at once). Dedicated, not merely limited: glibc keeps a freed block in the
        # arena of the thread that used it, so a fixed set of threads reuses a fixed set of blocks
        # — memory stays at threads × memory_kib, and no block is faulted in afresh from the kernel
        # (which costs ~12 ms of system CPU per 19 MiB: half an argon2 verification).
        self._threads = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 2, thread_name_prefix="argon2")

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism,
                   settings.argon2_threads)

    def _run(self, compute: Callable[..., _T], *args: str) -> _T:
        """Run one argon2 computation on the hashing threads; waits for it (exceptions propagate)."""
        return self._threads.submit(compute, *args).result()

    def hash(self, password: str) -> str:
        return self._run(self._argon2.hash, password)

    def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check a password; with no stored hash, do the same work and fail."""
        if not stored_hash:
            self.burn(password)
            return Verification(ok=False)
        if legacy_hashes.is_legacy(stored_hash):
            if legacy_hashes.verify(stored_hash, password):
                return Verification(ok=True, new_hash=self.hash(password))
            return Verification(ok=False)
        try:
            self._run(self._argon2.verify, stored_hash, password)
        except (VerificationError, InvalidHashError):
            return Verification(ok=False)
        if self._argon2.check_needs_rehash(stored_hash):
            return Verification(ok=True, new_hash=self.hash(password))
        return Verification(ok=True)

    def burn(self, password: str) -> None:
        """Spend one verification's work, for an unknown or password-less account."""
        with contextlib.suppress(VerificationError):
            self._run(self._argon2.verify, self._dummy_hash, password)


class PasswordPolicy:
    """Length per NIST 800-63B; common and guessable passwords rejected through zxcvbn."""

    def __init__(self, min_length: int = 8, max_length: int = 256, min_strength: int = 2) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self.min_strength = min_strength

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        return cls(settings.password_min_length, settings.password_max_length, settings.password_min_strength)

    def check(self, password: str, *, user_inputs: tuple[str | None, ...] = ()) -> None:
        # NIST 800-63B §5.1.1.2: count Unicode code points; no composition rules.
        if len(password) < self.min_length:
            raise WeakPassword(f"Password must have at least {self.min_length} characters.")
        if len(password) > self.max_length:
            raise WeakPassword(f"Password must have at most {self.max_length} characters.")
        if "\x00" in password:
            raise InvalidInput("Password must not contain NUL characters.", field="password")
        # zxcvbn's cost grows with length; its dictionaries cannot match past ~100 characters.
        sample = password[:100]
        hints = [value for value in user_inputs if value]
        from zxcvbn import zxcvbn  # here, not at import: its dictionaries cost every server process ~14 MB

        result = zxcvbn(sample, user_inputs=hints)
        if result["score"] < self.min_strength:
            warning = result["feedback"].get("warning") or "It is too common or too easy to guess."
            raise WeakPassword(f"Password is too weak: {warning.rstrip('.')}.")


def validate_imported_hash(value: str) -> str:
    """Accept an argon2 hash or a legacy format we can verify; reject anything else."""
    if value.startswith("$argon2"):
        try:
            argon2.extract_parameters(value)
        except InvalidHashError as error:
            raise InvalidInput("password_hash is not a valid argon2 hash", field="password_hash") from error
        return value
    return legacy_hashes.normalize(value)
