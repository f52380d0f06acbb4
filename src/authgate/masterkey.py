"""The master key that encrypts signing private keys at rest (AES-256-GCM via `cryptography`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authgate.settings import Settings

NONCE_BYTES = 12


class MasterKeyError(Exception):
    """The master key is missing, malformed, or does not open the stored keys."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise MasterKeyError("the master key must be 32 bytes (urlsafe base64 encoded)")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> MasterKey:
        if settings.master_key is not None:
            return cls(_decode(settings.master_key.get_secret_value()))
        return cls(_decode(_load_or_create(settings.data_dir / "master.key")))

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
        except Exception as error:  # cryptography raises InvalidTag
            raise MasterKeyError("cannot decrypt a signing key: wrong AUTHGATE_MASTER_KEY?") from error


def derived_key(settings: Settings, purpose: bytes) -> bytes:
    """A server-only key for one purpose, from the master key (never stored, never sent).

    HMAC-SHA256 keyed with the master key over a purpose label: keys for
    different purposes are independent, and each changes with the master key.
    """
    MasterKey.from_settings(settings)  # validates the key and creates the dev key file if needed
    if settings.master_key is not None:
        material = settings.master_key.get_secret_value()
    else:
        material = (settings.data_dir / "master.key").read_text()
    return hmac.new(material.strip().encode(), purpose, hashlib.sha256).digest()


def generate() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as error:
        raise MasterKeyError("the master key is not urlsafe base64") from error


def _load_or_create(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    # O_EXCL: two processes starting at once must not both write a key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    return value
