"""Signing keys: created, encrypted at rest, rotated with an overlap window, published as a JWKS.

Access tokens are signed with `settings.signing_algorithm` (ES256 by default);
an RS256 key always exists because OIDC Core §15.1 makes RS256 the algorithm
every relying party supports for ID tokens. After a rotation the old key stops
signing at once and stays in the JWKS until every token it signed has expired.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sqlalchemy import select

from authgate import audit
from authgate.caching import Cache, Miss
from authgate.clock import aware, utcnow
from authgate.masterkey import MasterKey
from authgate.storage.models import SigningKey

if TYPE_CHECKING:
    from authgate.services import Services

ID_TOKEN_ALGORITHM = "RS256"
SUPPORTED = ("ES256", "RS256", "EdDSA")
# Other processes pick up a rotation within this many seconds.
CACHE_SECONDS = 5.0
# A token naming a kid not in the key ring reloads it, unless the ring is younger than this.
UNKNOWN_KID_RELOAD_SECONDS = 0.5


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    alg: str
    private_key: Any


@dataclass(frozen=True)
class Keyring:
    """The published keys as last read: a snapshot, safe to share between threads."""

    active: Mapping[str, ActiveKey]  # alg -> the key that signs with it
    jwks: dict[str, Any]
    public: Mapping[str, tuple[str, Any]]  # kid -> (alg, public key object)


def _generate(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported signing algorithm {alg}")


def _public_jwk(alg: str, kid: str, private_key: Any) -> dict[str, Any]:
    codec: Any = {"ES256": ECAlgorithm, "RS256": RSAAlgorithm, "EdDSA": OKPAlgorithm}[alg]
    jwk: dict[str, Any] = codec.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg=alg, use="sig")
    return jwk


class KeyStore:
    """Keys in the database; the decrypted key ring cached in memory for CACHE_SECONDS.

    `signing_key`, `public_key` and `jwks` may read the database; `peek` answers from memory only."""

    def __init__(self, services: Services, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.settings = services.settings
        self._master = MasterKey.from_settings(services.settings)
        self._ring: Cache[None, Keyring] = Cache(self._load, ttl=CACHE_SECONDS, clock=clock)
        # kid → (public key object, private key object or None): parsed once per process
        # (parsing and validating an RSA key costs ~70 ms of CPU); only the loader touches it.
        self._parsed: dict[str, tuple[Any, Any]] = {}

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.settings.signing_algorithm, ID_TOKEN_ALGORITHM)))

    def overlap(self) -> timedelta:
        extra = self.settings.key_rotation_overlap or 0
        longest = max(self.settings.access_token_ttl, self.settings.id_token_ttl)
        return timedelta(seconds=longest + extra + 60)

    # --- writes ------------------------------------------------------------------
    def ensure_active(self) -> list[str]:
        """Create a key for each needed algorithm that has none; returns the new kids."""
        with self.services.database.transaction() as session:
            active = {key.alg for key in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))}
            created = [self._add(session, alg) for alg in self.algorithms if alg not in active]
        self._ring.clear()
        return created

    def rotate(self, actor: str = "system", algorithms: tuple[str, ...] | None = None) -> list[str]:
        """New keys sign from now on; the old ones stay published for the overlap window."""
        now = utcnow()
        created = []
        with self.services.database.transaction() as session:
            for alg in algorithms or self.algorithms:
                active = select(SigningKey).where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
                for old in session.scalars(active):
                    old.retired_at = now
                    old.unpublish_at = now + self.overlap()
                kid = self._add(session, alg)
                created.append(kid)
            audit.record(session, audit.KEY_ROTATED, actor=actor, kids=created)
            self._purge(session)
        self._ring.clear()
        return created

    def _add(self, session: Any, alg: str) -> str:
        private_key = _generate(alg)
        kid = f"{alg.lower()}-{utcnow():%Y%m%d}-{secrets.token_hex(4)}"
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        session.add(
            SigningKey(
                kid=kid, alg=alg, private_key_encrypted=self._master.encrypt(der, kid),
                public_jwk=_public_jwk(alg, kid, private_key),
            )
        )
        session.flush()
        return kid

    def _purge(self, session: Any) -> None:
        now = utcnow()
        for key in session.scalars(select(SigningKey).where(SigningKey.unpublish_at.is_not(None))):
            if aware(key.unpublish_at) <= now:
                session.delete(key)

    # --- reads ---------------------------------------------------------------------
    def list(self) -> list[SigningKey]:
        with self.services.database.reader() as session:
            return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))

    def signing_key(self, alg: str | None = None) -> ActiveKey:
        """The key that signs with `alg` (the configured algorithm by default); may read the database."""
        wanted = alg or self.settings.signing_algorithm
        try:
            return self._ring.get(None).active[wanted]
        except KeyError:
            raise LookupError(f"no active {wanted} signing key; run `authgate init`") from None

    def public_key(self, kid: str) -> tuple[str, Any] | None:
        """(alg, key object) of a published key, or None; an unknown kid reloads the ring once."""
        found = self._ring.get(None).public.get(kid)
        if found is None:
            found = self._ring.get(None, max_age=UNKNOWN_KID_RELOAD_SECONDS).public.get(kid)
        return found

    def jwks(self) -> dict[str, Any]:
        """The public keys to publish: active ones and retired ones inside their overlap window."""
        return self._ring.get(None).jwks

    def peek(self) -> Keyring | Miss:
        """The key ring if fresh in memory, else MISS; never reads the database."""
        return self._ring.peek(None)

    def refresh_due(self) -> None:
        """Reload the ring ahead of its expiry while it is in use (the warmer calls this)."""
        self._ring.refresh_due()

    def _load(self, _: None) -> Keyring:
        now = utcnow()
        active: dict[str, ActiveKey] = {}
        published = []
        public: dict[str, Any] = {}
        parsed: dict[str, tuple[Any, Any]] = {}
        with self.services.database.reader() as session:
            for key in session.scalars(select(SigningKey).order_by(SigningKey.created_at)):
                if key.unpublish_at is not None and aware(key.unpublish_at) <= now:
                    continue
                published.append(dict(key.public_jwk))
                public_key, private_key = self._parsed.get(key.kid) or (PyJWK.from_dict(dict(key.public_jwk)).key, None)
                if key.retired_at is None and private_key is None:
                    der = self._master.decrypt(key.private_key_encrypted, key.kid)
                    private_key = serialization.load_der_private_key(der, None)
                parsed[key.kid] = (public_key, private_key)
                public[key.kid] = (key.alg, public_key)
                if key.retired_at is None:
                    active[key.alg] = ActiveKey(key.kid, key.alg, private_key)
        self._parsed = parsed
        return Keyring(active, {"keys": published}, public)
