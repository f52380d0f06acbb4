"""Unique token identifiers (`jti`, RFC 7519 §4.1.7): 128 bits from the OS CSPRNG."""

from __future__ import annotations

import secrets

_ID_BYTES = 16


def new_token_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)
