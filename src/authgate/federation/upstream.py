"""Talking to an upstream provider: discovery, keys, the authorization URL, the code, the ID token.

Authlib's httpx client builds the authorization request (PKCE S256, RFC 7636
§4.2) and exchanges the code; joserfc verifies the ID token (OIDC Core
§3.1.3.7) against the provider's JWKS. Discovery documents and key sets are
cached per provider with the injected clock: a discovery document for
`federation_discovery_ttl`; a key set until an ID token names a key it does
not hold, then fetched again — at most once per
`federation_jwks_refetch_interval`, so forged `kid`s cannot make authgate
flood the provider. Nothing here reads a cache without saying so: `metadata`
and `keys` may fetch, and their names say what they fetch.

Every wait on the provider is bounded by `federation_http_timeout`; a
provider that cannot be reached raises `UpstreamUnavailable`, one that
answers with an error `UpstreamRefused`, one whose answer fails a check
`UpstreamInvalid` — the pages turn each into a clear page.
"""

from __future__ import annotations

import importlib
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.base_client import OAuthError as AuthlibOAuthError
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from authgate.federation.providers import ProviderSpec

with warnings.catch_warnings():
    # Authlib ≥ 1.9 prefers the `httpx2` fork and warns once at import when it falls back to httpx, which is
    # what the rest of authgate uses: the same client library everywhere, and no warning on every start.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client


def _client_errors() -> tuple[type[Exception], ...]:
    """What Authlib's client raises when an endpoint cannot be reached or answers nonsense: it is built on
    httpx2 when that is installed, else on httpx, so either's HTTPError (and ValueError for a body that is
    not JSON)."""
    try:
        fork = importlib.import_module("httpx2")
    except ImportError:
        return (httpx.HTTPError, ValueError)
    return (httpx.HTTPError, fork.HTTPError, ValueError)


CLIENT_ERRORS = _client_errors()
DISCOVERY_PATH = "/.well-known/openid-configuration"
# OIDC Core §3.1.3.7: the ID token is signed; algorithms a provider may use (never "none" or HMAC
# with the client secret, which authgate does not configure).
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
MAX_DOCUMENT_BYTES = 512 * 1024


class UpstreamError(Exception):
    """Something about the upstream provider; `message` may be shown, `debug` is for the log."""

    def __init__(self, message: str, debug: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.debug = debug or message


class UpstreamUnavailable(UpstreamError):
    """The provider could not be reached, or answered with something other than a document."""


class UpstreamRefused(UpstreamError):
    """The provider answered with an OAuth error (RFC 6749 §4.1.2.1, §5.2)."""

    def __init__(self, error: str, description: str | None) -> None:
        super().__init__(f"The provider refused: {error}" + (f" ({description})" if description else ""))
        self.error = error


class UpstreamInvalid(UpstreamError):
    """The provider's answer failed a check (issuer, nonce, signature, audience, expiry)."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints of one provider: from discovery (oidc) or from its entry (oauth2)."""

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    # RFC 9207 §3: the provider sends `iss` with every authorization response.
    iss_parameter_supported: bool = False


@dataclass
class _Cached:
    value: Any
    fetched_at: float


class Upstream:
    """Process-wide: the HTTP client and the caches of every provider's documents."""

    def __init__(self, *, timeout: float, discovery_ttl: float, jwks_refetch_interval: float, clock_skew: int,
                 clock: Callable[[], float] = time.time, transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = timeout
        self.discovery_ttl = discovery_ttl
        self.jwks_refetch_interval = jwks_refetch_interval
        self.clock_skew = clock_skew
        self.clock = clock
        self.transport = transport
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._discovery: dict[str, _Cached] = {}
        self._keys: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    # --- discovery ------------------------------------------------------------------------------
    def metadata(self, spec: ProviderSpec) -> ProviderMetadata:
        """The provider's endpoints: an oauth2 entry's own, or its discovery document (fetched when stale)."""
        if spec.type == "oauth2":
            assert spec.authorization_endpoint and spec.token_endpoint
            return ProviderMetadata(None, spec.authorization_endpoint, spec.token_endpoint, spec.userinfo_endpoint)
        assert spec.issuer is not None
        with self._lock:
            cached = self._discovery.get(spec.issuer)
        if cached is not None and self.clock() - cached.fetched_at < self.discovery_ttl:
            metadata: ProviderMetadata = cached.value
            return metadata
        metadata = self._discover(spec.issuer)
        with self._lock:
            self._discovery[spec.issuer] = _Cached(metadata, self.clock())
        return metadata

    def _discover(self, issuer: str) -> ProviderMetadata:
        document = self._get_json(issuer + DISCOVERY_PATH, what="discovery document")
        # OIDC Discovery §4.3: the issuer in the document must be exactly the one it was fetched for.
        if str(document.get("issuer", "")).rstrip("/") != issuer:
            raise UpstreamInvalid("The provider's discovery document names another issuer.",
                                  f"discovery at {issuer} names issuer {str(document.get('issuer'))[:200]!r}")
        try:
            return ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=_https_url(document["authorization_endpoint"]),
                token_endpoint=_https_url(document["token_endpoint"]),
                userinfo_endpoint=_optional_url(document.get("userinfo_endpoint")),
                jwks_uri=_https_url(document["jwks_uri"]),
                end_session_endpoint=_optional_url(document.get("end_session_endpoint")),
                iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
            )
        except (KeyError, ValueError) as error:
            raise UpstreamInvalid("The provider's discovery document is incomplete.",
                                  f"discovery at {issuer}: {error!r}") from None

    # --- the authorization request and the code ---------------------------------------------------
    def authorization_url(self, spec: ProviderSpec, metadata: ProviderMetadata, *, redirect_uri: str, state: str,
                          nonce: str, code_verifier: str) -> str:
        with self._client(spec, None, redirect_uri) as client:
            extra = {"nonce": nonce} if spec.type == "oidc" else {}
            url, _state = client.create_authorization_url(
                metadata.authorization_endpoint, state=state, code_verifier=code_verifier, **extra)
        return str(url)

    def exchange(self, spec: ProviderSpec, secret: str, metadata: ProviderMetadata, *, redirect_uri: str,
                 code: str, code_verifier: str) -> dict[str, Any]:
        """The token response for a code (RFC 6749 §4.1.3), the PKCE verifier with it (RFC 7636 §4.5)."""
        with self._client(spec, secret, redirect_uri) as client:
            try:
                token = client.fetch_token(metadata.token_endpoint, code=code, code_verifier=code_verifier,
                                           headers={"Accept": "application/json"})
            except AuthlibOAuthError as error:
                raise UpstreamRefused(str(error.error)[:100], (error.description or "")[:300] or None) from None
            except CLIENT_ERRORS as error:
                raise UpstreamUnavailable("The provider's token endpoint did not answer.",
                                          f"{metadata.token_endpoint}: {error!r}") from None
        if not isinstance(token, Mapping) or not token.get("access_token"):
            raise UpstreamInvalid("The provider's token response has no access token.")
        return dict(token)

    def userinfo(self, metadata: ProviderMetadata, access_token: str) -> dict[str, Any]:
        if not metadata.userinfo_endpoint:
            return {}
        return self._get_json(metadata.userinfo_endpoint, what="userinfo",
                              headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})

    def _client(self, spec: ProviderSpec, secret: str | None, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=spec.client_id, client_secret=secret, scope=" ".join(spec.scopes), redirect_uri=redirect_uri,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
            timeout=self.timeout, transport=self.transport, follow_redirects=False,
        )

    # --- logging out there too ---------------------------------------------------------------------
    def end_session_url(self, spec: ProviderSpec, metadata: ProviderMetadata, *, id_token: str,
                        post_logout_redirect_uri: str, state: str) -> str | None:
        """Where to send the browser to end its session at the provider (RP-Initiated Logout 1.0 §2), or None
        when the provider has no end_session_endpoint."""
        if metadata.end_session_endpoint is None:
            return None
        # §2: id_token_hint RECOMMENDED; client_id with it; post_logout_redirect_uri registered there; state
        # comes back with the browser (§3), naming the logout that waits for it.
        query = urlencode({"id_token_hint": id_token, "client_id": spec.client_id,
                           "post_logout_redirect_uri": post_logout_redirect_uri, "state": state})
        separator = "&" if urlsplit(metadata.end_session_endpoint).query else "?"
        return f"{metadata.end_session_endpoint}{separator}{query}"

    # --- the ID token -------------------------------------------------------------------------
    def verify_id_token(self, spec: ProviderSpec, metadata: ProviderMetadata, id_token: str,
                        nonce: str) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: signature by the provider's key, iss, aud, exp/iat (with skew), nonce."""
        assert metadata.jwks_uri is not None and metadata.issuer is not None
        try:
            kid = jws.extract_compact(id_token.encode()).headers().get("kid")
        except (JoseError, ValueError, UnicodeError):
            raise UpstreamInvalid("The provider's ID token could not be read.") from None
        keys = self.keys(metadata.jwks_uri, needing=kid)
        try:
            token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise UpstreamInvalid("The provider's ID token is not signed by its keys.", repr(error)) from None
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock()), leeway=self.clock_skew,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True, "value": spec.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},  # OIDC Core §3.1.3.7 step 11
        )
        try:
            registry.validate(token.claims)
        except JoseError as error:
            raise UpstreamInvalid("The provider's ID token does not belong to this sign-in.", repr(error)) from None
        audiences = token.claims.get("aud")
        if isinstance(audiences, list) and len(audiences) > 1 and token.claims.get("azp") != spec.client_id:
            raise UpstreamInvalid("The provider's ID token is for another party.")  # OIDC Core §3.1.3.7 steps 4-5
        return dict(token.claims)

    def keys(self, jwks_uri: str, *, needing: str | None) -> KeySet:
        """The provider's key set; fetched again when it lacks `needing` (rotation), at most once per interval."""
        with self._lock:
            cached = self._keys.get(jwks_uri)
        now = self.clock()
        if cached is not None:
            keys: KeySet = cached.value
            held = needing is None or any(key.kid == needing for key in keys)
            if held or now - cached.fetched_at < self.jwks_refetch_interval:
                return keys
        document = self._get_json(jwks_uri, what="keys")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise UpstreamInvalid("The provider's key set could not be read.", repr(error)) from None
        with self._lock:
            self._keys[jwks_uri] = _Cached(keys, now)
        return keys

    # --- HTTP -------------------------------------------------------------------------------
    def _get_json(self, url: str, *, what: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"The provider's {what} could not be fetched.", f"{url}: {error!r}") from None
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise UpstreamUnavailable(f"The provider's {what} could not be fetched.",
                                      f"{url}: HTTP {response.status_code}, {len(response.content)} bytes")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise UpstreamUnavailable(f"The provider's {what} is not a JSON object.", url)
        return document

    def close(self) -> None:
        """Close the HTTP client and its connections (the app's lifespan does, at shutdown). Each code exchange
        opens an Authlib client of its own and closes it when done: this is the only one left open."""
        self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed


def _https_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > 2000:
        raise ValueError(f"not a URL: {str(value)[:100]!r}")
    return value


def _optional_url(value: Any) -> str | None:
    return None if value is None else _https_url(value)
