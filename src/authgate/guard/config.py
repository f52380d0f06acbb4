"""Every setting of the guard, documented where it is defined."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authgate.guard.authentication import AUTHGATE_ACR_VALUES

#: Asymmetric algorithms the guard can verify. HMAC (``HS*``) is absent on
#: purpose: a resource server never shares a secret with the issuer, and an
#: HS256 token "signed" with the issuer's public key is the classic key
#: confusion attack (CVE-2016-10555). ``none`` is absent for the same reason.
SUPPORTED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
     "ES256", "ES384", "ES512", "ES256K", "EdDSA"}
)

DEFAULT_ALGORITHMS = ("ES256", "RS256", "EdDSA", "PS256")


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """What the guard trusts and how strictly it checks.

    Only ``issuer`` and ``audience`` are needed; the rest have safe defaults.
    """

    #: The issuer identifier, compared exactly with the ``iss`` claim
    #: (RFC 9068 §4) and used to find ``/.well-known/openid-configuration``.
    issuer: str
    #: This API's identifier; a token is accepted when its ``aud`` (a string
    #: or a list) contains one of these (RFC 7519 §4.1.3, RFC 9068 §4).
    audience: str | Sequence[str]
    #: Allow-list of ``alg`` values (RFC 8725 §3.1). A subset of
    #: ``SUPPORTED_ALGORITHMS``; anything else is a configuration error.
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    #: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    leeway: float = 30.0
    #: When set (e.g. ``"at+jwt"``), the header ``typ`` must equal it, with or
    #: without the ``application/`` prefix, case-insensitively (RFC 9068 §4).
    #: None accepts any ``typ``, for issuers that do not follow RFC 9068.
    required_typ: str | None = None
    #: Claims that must be present; RFC 9068 §2.2 lists more, but many
    #: issuers omit some, so only what the checks need is required by default.
    required_claims: Sequence[str] = ("iss", "aud", "exp")
    #: Tokens longer than this many bytes are refused before any parsing.
    max_token_bytes: int = 8192
    #: Where the keys are; found through OIDC Discovery when None.
    jwks_uri: str | None = None
    #: Minimum seconds between two fetches of the key set, whatever triggers
    #: them (unknown ``kid``, stale keys, failed fetch): no flood of tokens
    #: can make the guard hammer the issuer.
    jwks_refetch_interval: float = 10.0
    #: Seconds after which the key set is refreshed on the next request. If
    #: the issuer is down then, the keys already held keep being used.
    jwks_max_age: float = 300.0
    #: Timeout in seconds for each request to the issuer.
    http_timeout: float = 5.0
    #: Verified tokens remembered (LRU); 0 turns the claims cache off.
    claims_cache_size: int = 4096
    #: A cached verdict is reused at most this long, and never past ``exp``.
    claims_cache_ttl: float = 300.0
    #: Realm for ``WWW-Authenticate`` (RFC 6750 §3); defaults to the audience.
    realm: str | None = None
    #: This API's resource identifier URL (RFC 9728 §2 ``resource``). When
    #: set, its protected resource metadata is served (``GuardMiddleware``)
    #: and every challenge names it (``resource_metadata``, RFC 9728 §5.1).
    resource: str | None = None
    #: The permissions this API knows, listed as ``scopes_supported``.
    scopes_supported: Sequence[str] = ()
    #: Issuers of this API's tokens, as listed in its metadata; default: ``issuer``.
    authorization_servers: Sequence[str] = ()
    #: Authentication context classes (``acr``) this API's issuer uses, weakest
    #: first: ``requires_auth(acr=X)`` accepts X and every value after it
    #: (RFC 9470). The default is authgate's own; list your issuer's otherwise.
    acr_values: Sequence[str] = AUTHGATE_ACR_VALUES
    #: Wall clock for ``exp``/``nbf``/``iat`` and ``max_age``; tests pass a fake one.
    clock: Callable[[], float] = field(default=time.time)
    #: Monotonic clock for refetch intervals and key age.
    monotonic: Callable[[], float] = field(default=time.monotonic)

    def __post_init__(self) -> None:
        unsupported = set(self.algorithms) - SUPPORTED_ALGORITHMS
        if unsupported or not self.algorithms:
            raise ValueError(
                f"algorithms must be a non-empty subset of {sorted(SUPPORTED_ALGORITHMS)}; "
                f"refused: {sorted(unsupported)}"
            )
        if not self.audiences:
            raise ValueError("audience must name at least one audience")
        if self.resource is not None and urlsplit(self.resource).scheme not in ("http", "https"):
            raise ValueError("resource must be an http(s) URL (RFC 9728 §2)")
        if isinstance(self.acr_values, str) or len(set(self.acr_values)) != len(self.acr_values):
            raise ValueError("acr_values is a list of distinct values, weakest first")
        if self.max_token_bytes <= 0 or self.leeway < 0:
            raise ValueError("max_token_bytes must be positive and leeway non-negative")

    @property
    def audiences(self) -> frozenset[str]:
        """The accepted audiences as a set."""
        if isinstance(self.audience, str):
            return frozenset({self.audience})
        return frozenset(self.audience)

    @property
    def resource_metadata_url(self) -> str | None:
        """Where this API's RFC 9728 metadata is, when it names its ``resource``."""
        from authgate.guard.resource_metadata import metadata_url

        return metadata_url(self.resource) if self.resource is not None else None

    @property
    def challenge_realm(self) -> str:
        """The realm named in every ``WWW-Authenticate`` challenge."""
        if self.realm is not None:
            return self.realm
        return self.audience if isinstance(self.audience, str) else " ".join(self.audience)
