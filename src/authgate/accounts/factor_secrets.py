"""The master key's part in second factors: TOTP secrets sealed at rest, recovery codes keyed-hashed.

TOTP secrets must be read back (to compute the expected code), so they are
encrypted (AES-256-GCM, `masterkey.MasterKey`) with the user's id as
associated data: a sealed secret copied onto another user's row does not open.

Recovery codes are only ever compared, so they are stored as HMAC-SHA256
digests under a key derived from the master key. A slow hash (argon2) is not
needed: each code carries 50 random bits (not a human-chosen password), so
an offline search is out of reach, and even that search needs the master
key, which the database does not hold. Online guessing is throttled per
account like a password.
"""

from __future__ import annotations

import hashlib
import hmac

from authgate.masterkey import MasterKey, derived_key
from authgate.settings import Settings

_RECOVERY_PURPOSE = b"authgate recovery codes v1"


class FactorSecrets:
    def __init__(self, master: MasterKey, recovery_key: bytes) -> None:
        self._master = master
        self._recovery_key = recovery_key

    @classmethod
    def from_settings(cls, settings: Settings) -> FactorSecrets:
        return cls(MasterKey.from_settings(settings), derived_key(settings, _RECOVERY_PURPOSE))

    def seal_totp(self, user_id: int, secret: str) -> bytes:
        return self._master.encrypt(secret.encode("ascii"), _totp_context(user_id))

    def open_totp(self, user_id: int, sealed: bytes) -> str:
        """Raises `MasterKeyError` when the secret was sealed for another user or with another key."""
        return self._master.decrypt(sealed, _totp_context(user_id)).decode("ascii")

    def recovery_digest(self, user_id: int, code: str) -> str:
        """The stored form of a normalised recovery code; bound to the user (one user's code is no other's)."""
        message = f"{user_id}:{code}".encode("ascii")
        return hmac.new(self._recovery_key, message, hashlib.sha256).hexdigest()


def _totp_context(user_id: int) -> str:
    return f"totp:{user_id}"
