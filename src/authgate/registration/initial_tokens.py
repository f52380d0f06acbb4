"""Initial access tokens for the `token` registration policy (RFC 7591 §3: "initial access token").

A token is `iat1.<expiry>.<nonce>.<mac>`: an HMAC (key derived from the
master key) over its expiry and a random nonce. Nothing is stored, so a
token cannot be revoked before it expires; keep their lifetimes short, or
rotate the master key to void every one at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from authgate.masterkey import derived_key
from authgate.settings import Settings

PREFIX = "iat1"
PURPOSE = b"authgate registration initial access token v1"


def _mac(key: bytes, expiry: int, nonce: str) -> str:
    return hmac.new(key, f"{PREFIX}.{expiry}.{nonce}".encode(), hashlib.sha256).hexdigest()


def issue(settings: Settings, now: datetime, lifetime: timedelta) -> str:
    """A new initial access token, valid from `now` for `lifetime`."""
    expiry = int((now + lifetime).timestamp())
    nonce = secrets.token_urlsafe(16)
    return f"{PREFIX}.{expiry}.{nonce}.{_mac(derived_key(settings, PURPOSE), expiry, nonce)}"


def is_valid(settings: Settings, token: str, now: datetime) -> bool:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or len(parts[1]) > 12:
        return False
    expiry, nonce, mac = int(parts[1]), parts[2], parts[3]
    if not hmac.compare_digest(_mac(derived_key(settings, PURPOSE), expiry, nonce), mac):
        return False
    return now.timestamp() < expiry
