"""The issuer's key set: discovered, fetched, parsed once, and cached.

Reads are lock-free (a snapshot swapped atomically). Fetches are
single-flight and rate-limited: whatever asks for them (a token with an
unknown ``kid``, an old key set), at most one request goes to the issuer per
``jwks_refetch_interval``. A failed fetch keeps the keys already held, so a
short outage of the issuer does not stop the API.
"""

from __future__ import annotations

import logging
import threading

import httpx

from authgate.guard.config import GuardConfig
from authgate.guard.keys import KeySet

logger = logging.getLogger("authgate.guard")

DISCOVERY_PATH = "/.well-known/openid-configuration"


class JwksCache:
    """Holds the current ``KeySet`` and refreshes it politely."""

    def __init__(self, config: GuardConfig, http_client: httpx.Client | None = None) -> None:
        self._config = config
        self._allowed = frozenset(config.algorithms)
        self._http = http_client
        self._jwks_uri = config.jwks_uri
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        #: Requests sent to the issuer (discovery and JWKS); tests read it.
        self.fetch_count = 0

    @property
    def keys(self) -> KeySet | None:
        """The current snapshot; None until a fetch has succeeded."""
        return self._keys

    def may_refresh(self) -> bool:
        """True if a fetch now would respect ``jwks_refetch_interval``."""
        last = self._last_attempt
        return last is None or self._config.monotonic() - last >= self._config.jwks_refetch_interval

    def is_stale(self) -> bool:
        """True when no keys are held or they are older than ``jwks_max_age``."""
        if self._keys is None:
            return True
        return self._config.monotonic() - self._fetched_at >= self._config.jwks_max_age

    def refresh(self) -> None:
        """Fetch the key set once, unless another caller just did (single-flight).

        Never raises: a failure is logged and the previous keys stay in use.
        """
        with self._lock:
            if not self.may_refresh():
                return
            self._last_attempt = self._config.monotonic()
            try:
                keys = KeySet.from_jwks(self._get_json(self._discover_jwks_uri()), self._allowed)
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as err:
                if self._config.jwks_uri is None:
                    self._jwks_uri = None  # discover again next time
                logger.warning(
                    "authgate.guard: fetching keys from %s failed (%s); %s",
                    self._config.issuer, type(err).__name__,
                    "keeping the cached keys" if self._keys else "no keys yet",
                )
                return
            self._keys = keys
            self._fetched_at = self._config.monotonic()
            logger.info("authgate.guard: loaded %d verification keys", len(keys))

    def _discover_jwks_uri(self) -> str:
        if self._jwks_uri is not None:
            return self._jwks_uri
        document = self._get_json(self._config.issuer.rstrip("/") + DISCOVERY_PATH)
        # OIDC Discovery 1.0 §4.3: the issuer in the document MUST be
        # identical to the issuer it was fetched for.
        if not isinstance(document, dict) or document.get("issuer") != self._config.issuer:
            raise ValueError("discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError("discovery document has no usable jwks_uri")
        self._jwks_uri = jwks_uri
        return jwks_uri

    def _get_json(self, url: str) -> object:
        self.fetch_count += 1
        client = self._client()
        response = client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document: object = response.json()
        return document

    def _client(self) -> httpx.Client:
        if self._http is None:
            # Redirects are not followed: the key URL is the one configured
            # or discovered, nothing a response can move elsewhere.
            self._http = httpx.Client(timeout=self._config.http_timeout, follow_redirects=False)
        return self._http

    def close(self) -> None:
        """Close the HTTP client the cache created."""
        if self._http is not None:
            self._http.close()
