"""``TestIssuer``: a real OIDC issuer on loopback that signs the tokens you ask for.

It publishes an OpenID Provider configuration (OIDC Discovery 1.0 §4) and a
JWK Set like any issuer, so the guard under test finds its keys exactly as
it would in production; the tokens it mints are RFC 9068 JWT access tokens
signed with PyJWT. TEST KEYS, NEVER USE OUTSIDE TESTS.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import jwt

from authgate.testing.keys import TestKey, new_key
from authgate.testing.server import LoopbackServer

DEFAULT_AUDIENCE = "https://api.example"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"
#: How far in the past (or future) the out-of-time tokens are: far beyond
#: any leeway a guard would be configured with.
OUT_OF_TIME = 3600


class TestIssuer:
    """An issuer for tests: discovery and JWKS over HTTP, tokens on demand.

    >>> with TestIssuer(audience="https://coffee.example/api") as issuer:
    ...     token = issuer.token("get:drinks-detail", sub="barista-1")

    ``keys[0]`` signs; every key in ``keys`` is published. Claims default to
    ``iss`` (this issuer's URL), ``aud``, ``sub``, ``client_id``, ``iat``,
    ``exp`` (``lifetime`` seconds on), ``jti`` and an empty ``permissions``.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        keys: Sequence[TestKey] | None = None,
        *,
        audience: str = DEFAULT_AUDIENCE,
        subject: str = "test-user",
        client_id: str = "test-client",
        lifetime: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        #: Published keys; the first one signs. Assign a new list to rotate by hand.
        self.keys = list(keys) if keys else [new_key("ES256")]
        #: Raw entries published after the keys (for malformed-JWKS tests).
        self.extra_jwks: list[Any] = []
        self.audience = audience
        self.subject = subject
        self.client_id = client_id
        self.lifetime = lifetime
        self.clock = clock
        self._server = LoopbackServer(self._documents)
        #: The issuer identifier, ``http://127.0.0.1:<port>``: the ``iss`` claim.
        self.url = self._server.url

    def _documents(self) -> dict[str, Any]:
        return {
            DISCOVERY_PATH: {
                "issuer": self.url,
                "jwks_uri": self.url + JWKS_PATH,
                "id_token_signing_alg_values_supported": sorted({k.alg for k in self.keys}),
            },
            JWKS_PATH: {"keys": [key.jwk for key in self.keys] + self.extra_jwks},
        }

    # -- tokens ------------------------------------------------------------

    @property
    def signing_key(self) -> TestKey:
        """The key new tokens are signed with."""
        return self.keys[0]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """The payload of a default token; ``name=None`` drops that claim."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.url, "aud": self.audience, "sub": self.subject,
            "client_id": self.client_id, "iat": now, "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex, "permissions": [],
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self,
        *permissions: str,
        key: TestKey | None = None,
        headers: Mapping[str, Any] | None = None,
        expires_in: float | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token granting ``permissions``.

        Keyword arguments set claims (``sub="ada"``, ``scope="read"``,
        ``aud=[...]``) or drop them (``jti=None``); ``expires_in`` sets
        ``exp`` that many seconds from now; ``key`` signs with another key
        (published or not); ``headers`` adds JOSE header fields.
        """
        if permissions:
            if "permissions" in claims:
                raise TypeError("give permissions positionally or as permissions=, not both")
            claims["permissions"] = list(permissions)
        if expires_in is not None:
            claims["exp"] = int(self.clock() + expires_in)
        key = key or self.signing_key
        # RFC 9068 §2.1: JWT access tokens are typed "at+jwt".
        header = {"kid": key.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(self.claims(**claims), key.private, algorithm=key.alg, headers=header)

    def expired_token(self, *permissions: str, **claims: Any) -> str:
        """A token whose ``exp`` passed an hour ago."""
        now = int(self.clock())
        claims.setdefault("iat", now - OUT_OF_TIME - self.lifetime)
        claims.setdefault("exp", now - OUT_OF_TIME)
        return self.token(*permissions, **claims)

    def not_yet_valid_token(self, *permissions: str, **claims: Any) -> str:
        """A token whose ``nbf`` is an hour from now (RFC 7519 §4.1.5)."""
        now = int(self.clock())
        claims.setdefault("nbf", now + OUT_OF_TIME)
        claims.setdefault("exp", now + OUT_OF_TIME + self.lifetime)
        return self.token(*permissions, **claims)

    def wrong_audience_token(
        self, *permissions: str, audience: str = "https://elsewhere.example", **claims: Any
    ) -> str:
        """A token for another API (RFC 7519 §4.1.3)."""
        return self.token(*permissions, aud=audience, **claims)

    def forged_token(self, *permissions: str, **claims: Any) -> str:
        """A token naming the signing key's ``kid``, signed by a key nobody published."""
        impostor = new_key(self.signing_key.alg, self.signing_key.kid)
        return self.token(*permissions, key=impostor, **claims)

    def auth_headers(self, *permissions: str, **claims: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a new token (RFC 6750 §2.1)."""
        return {"Authorization": "Bearer " + self.token(*permissions, **claims)}

    # -- keys ----------------------------------------------------------------

    def rotate(self, alg: str | None = None, *, keep_previous: bool = True) -> TestKey:
        """Sign with a new key from now on, and return it.

        The previous keys stay published (the overlap window a real issuer
        keeps, so tokens already out still verify) unless ``keep_previous``
        is False. A guard holding the old key set meets an unknown ``kid``
        and refetches, at most once per its ``jwks_refetch_interval``.
        """
        key = new_key(alg or self.signing_key.alg)
        self.keys = [key, *self.keys] if keep_previous else [key]
        return key

    # -- the HTTP side ---------------------------------------------------------

    @property
    def jwks_uri(self) -> str:
        return self.url + JWKS_PATH

    @property
    def down(self) -> bool:
        """When True, every request gets 503: the issuer is out."""
        return self._server.down

    @down.setter
    def down(self, value: bool) -> None:
        self._server.down = value

    @property
    def delay(self) -> float:
        """Seconds each answer is held back: a slow issuer."""
        return self._server.delay

    @delay.setter
    def delay(self, value: float) -> None:
        self._server.delay = value

    @property
    def hits(self) -> Counter[str]:
        """Requests received, per path."""
        return self._server.hits

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS was fetched."""
        return self._server.hits[JWKS_PATH]

    def stop(self) -> None:
        """Stop serving; a guard asking for keys afterwards gets no answer."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"TestIssuer(url={self.url!r}, audience={self.audience!r})"
