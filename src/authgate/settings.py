"""Every setting authgate reads, in one place, each documented where it is defined.

Values come from environment variables prefixed ``AUTHGATE_`` (for example
``AUTHGATE_DATABASE_URL``), then from an optional config file named by
``AUTHGATE_CONFIG`` (YAML or JSON, keys as the field names below), then from
the defaults here. The environment wins over the file.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

logger = logging.getLogger("authgate.settings")

SigningAlgorithm = Literal["ES256", "RS256", "EdDSA"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTHGATE_", extra="ignore", frozen=True)

    # --- where things live -------------------------------------------------
    data_dir: Path = Field(
        Path("authgate-data"),
        description="Directory for the embedded SQLite database and the generated master key file.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL. Unset: an SQLite file in data_dir, created on first run. "
            "Production: postgresql+psycopg://user@host/db."
        ),
    )
    redis_url: str | None = Field(
        None, description="Optional Redis URL for counters shared across replicas (rate limits)."
    )
    config: Path | None = Field(None, description="Optional YAML/JSON file with these settings.")

    # --- waiting on the database ---------------------------------------------
    database_timeout: float = Field(
        5.0, ge=4, le=600,
        description=(
            "The longest a request waits on the database (down, overloaded, or holding "
            "connections open while nothing comes back) before it is answered 503 with "
            "Retry-After; the server recovers by itself. On PostgreSQL half of it bounds "
            "connecting (libpq connect_timeout: whole seconds, at least 2) and half one round "
            "trip: waiting for a pooled connection, a client-side deadline on every statement, "
            "commit and ping, TCP keepalives and tcp_user_timeout; the server cancels a statement "
            "or lock wait at 80% of that half (statement_timeout, lock_timeout; schema migrations "
            "are exempt). So 5 s allows 2 s to connect and 2.5 s per round trip, 2 s of it on the "
            "server. On SQLite: the busy timeout, and the wait for a pooled connection."
        ),
    )

    # --- identity of the server --------------------------------------------
    issuer: str = Field(
        "http://127.0.0.1:8000",
        description="The issuer identifier (OIDC Core §2): scheme, host, optional port and path.",
    )
    master_key: SecretStr | None = Field(
        None,
        description=(
            "Key that encrypts signing private keys at rest (urlsafe base64, 32 bytes). "
            "Unset: generated into data_dir/master.key with mode 0600 (development only)."
        ),
    )
    signing_algorithm: SigningAlgorithm = Field(
        "ES256", description="Algorithm of the key that signs access tokens."
    )

    # --- lifetimes (seconds) -------------------------------------------------
    access_token_ttl: int = Field(3600, ge=30, description="Lifetime of JWT access tokens.")
    client_cache_seconds: float = Field(
        2.0, ge=0, le=60,
        description=(
            "How long a server process caches client records and their permissions for the token "
            "endpoints (admin changes in the same process apply at once; other processes' within this). 0: no cache."
        ),
    )
    revocation_cache_seconds: float = Field(
        1.0, ge=0, le=30,
        description=(
            "Introspection checks revoked access tokens against an in-memory copy re-read this often: a "
            "revocation through another server process counts within this time (this process's at once). 0: "
            "one database lookup per check."
        ),
    )
    audit_flush_seconds: float = Field(
        0.1, gt=0, le=10,
        description=(
            "token.issued audit events are written in batches, at most this long after the token: a crash "
            "(kill -9) of a server process loses the events of its last this-many seconds; a graceful stop "
            "(SIGTERM, Ctrl-C, a worker restart) writes them all."
        ),
    )
    id_token_ttl: int = Field(3600, ge=30, description="Lifetime of ID tokens.")
    refresh_token_ttl: int = Field(30 * 86400, ge=60, description="Absolute lifetime of a refresh token family.")
    refresh_token_idle_ttl: int = Field(14 * 86400, ge=60, description="A refresh token unused this long expires.")
    refresh_reuse_grace: int = Field(
        5,
        ge=0,
        le=60,
        description=(
            "A rotated refresh token presented again whose successor was never used gets that "
            "successor back, whatever the time (a lost answer is never theft). Once the successor "
            "was used, the old token presented within this many seconds of that use gets the "
            "chain's newest token (concurrent refreshes); later it is reuse and revokes the "
            "family. 0: any such presentation is reuse."
        ),
    )
    authorization_code_ttl: int = Field(60, ge=10, le=600, description="Lifetime of an authorization code.")
    key_rotation_overlap: int = Field(
        0,
        ge=0,
        description=(
            "Extra seconds a retired signing key stays published after the last token it "
            "signed can have expired. 0 means: access_token_ttl + id_token_ttl."
        ),
    )

    # --- passwords -------------------------------------------------------------
    argon2_memory_kib: int = Field(19456, ge=19456, description="argon2id memory cost (OWASP: ≥ 19 MiB).")
    argon2_time_cost: int = Field(2, ge=2, description="argon2id iterations (OWASP: ≥ 2 at 19 MiB).")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes.")
    argon2_threads: int | None = Field(
        None, ge=1,
        description="Threads per process that compute argon2id, each keeping one block of argon2_memory_kib "
                    "(default: one per CPU core, so that one worker can use every core however the "
                    "connections are spread over the workers).",
    )
    password_min_length: int = Field(8, ge=8, description="NIST 800-63B §5.1.1.2: at least 8.")
    password_max_length: int = Field(256, ge=64, description="Long passphrases allowed (NIST: ≥ 64).")
    password_min_strength: int = Field(
        2, ge=0, le=4, description="Minimum zxcvbn score (0–4); common and guessable passwords score below 2."
    )

    # --- brute-force protection ------------------------------------------------
    lockout_account_threshold: int = Field(
        10, ge=1, description="Failures on one account before delays grow into a lock."
    )
    lockout_ip_threshold: int = Field(30, ge=1, description="Failures from one address before it is stopped.")
    lockout_window: int = Field(900, ge=10, description="Seconds over which failures are counted.")
    lockout_max_duration: int = Field(900, ge=1, description="Longest lock, in seconds; locks end by themselves.")
    lockout_pair_threshold: int = Field(
        5, ge=1, description="Failures for one account from one address before that pair is locked."
    )
    lockout_base_delay: float = Field(
        1.0,
        gt=0,
        description=(
            "First lock's length in seconds; each further counted failure doubles it (up to lockout_max_duration)."
        ),
    )
    redis_key_prefix: str = Field("authgate:", description="Prefix of every Redis key authgate writes.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses whose X-Forwarded-For is believed for the client IP (CIDR allowed).",
    )

    # --- hosted pages and sessions -------------------------------------------
    registration_enabled: bool = Field(False, description="Show self-registration on the login page.")
    session_idle_ttl: int = Field(1800, ge=60, description="A browser session idle this long ends.")
    session_absolute_ttl: int = Field(12 * 3600, ge=300, description="A browser session ends this long after login.")

    # --- federation: signing in with another identity provider (docs/federation.md) ------
    federation_http_timeout: float = Field(
        5.0, gt=0, le=60,
        description="Seconds authgate waits on an upstream identity provider (discovery, keys, token, userinfo).",
    )
    federation_discovery_ttl: int = Field(
        3600, ge=10, le=86400,
        description="Seconds an upstream provider's discovery document is reused before it is fetched again.",
    )
    federation_jwks_refetch_interval: int = Field(
        60, ge=1, le=3600,
        description=(
            "Least seconds between two fetches of an upstream provider's keys when an ID token names a key "
            "not held (rotation), so forged key ids cannot make authgate flood the provider."
        ),
    )
    federation_clock_skew: int = Field(
        60, ge=0, le=600,
        description="Seconds of clock difference tolerated on an upstream ID token's iat, exp and nbf.",
    )
    federation_login_ttl: int = Field(
        600, ge=60, le=3600,
        description="Seconds a person has to sign in at the upstream provider (the life of its single-use state).",
    )

    # --- dynamic client registration (RFC 7591 / RFC 7592) ------------------------
    client_registration: Literal["off", "open", "token"] = Field(
        "off",
        description=(
            "Who may register clients at the registration endpoint: off (no endpoint), open (anyone; "
            "public third-party clients only, rate-limited per address) or token (an initial access "
            "token from `authgate client registration-token`)."
        ),
    )
    client_registration_rate: int = Field(
        10, ge=1, description="Registrations one address may make per lockout_window before it must wait."
    )
    dynamic_client_max_idle: int = Field(
        30 * 86400, ge=3600,
        description="A dynamically registered client unused this long (seconds) is removed by "
                    "`authgate client purge-dynamic`.",
    )
    # --- email (see mail/ and outbox/) ------------------------------------------
    smtp_url: SecretStr | None = Field(
        None,
        description=(
            "Where mail goes: smtp://host:port (plain), smtp+starttls://user:pass@host:587 (STARTTLS "
            "required), smtps://user:pass@host:465 (TLS from the start). Unset: every message is written "
            "to the server log in full, links included (development only; a warning says so at start-up)."
        ),
    )
    email_from: str = Field(
        "authgate <no-reply@localhost>", max_length=320,
        description="The From header of every message (an address, optionally with a display name).",
    )
    smtp_timeout: float = Field(10.0, gt=0, le=120, description="Seconds any one SMTP exchange may take.")
    product_name: str = Field(
        "authgate", min_length=1, max_length=100, description="The product's name in messages and their subjects."
    )
    email_link_base: str | None = Field(
        None,
        description="Scheme, host (and path prefix) of links in messages. Unset: the issuer.",
    )
    email_templates_dir: Path | None = Field(
        None,
        description=(
            "A directory whose files override the packaged message templates of the same name "
            "(password_reset.txt, password_reset.html, verify_email.txt, …): branding."
        ),
    )
    password_reset_ttl: int = Field(1800, ge=60, le=86400, description="Seconds a password reset link and code work.")
    email_verification_ttl: int = Field(
        2 * 86400, ge=300, le=30 * 86400, description="Seconds an email verification link and code work."
    )
    invitation_ttl: int = Field(7 * 86400, ge=3600, le=90 * 86400, description="Seconds an invitation works.")
    login_requires_verified_email: bool = Field(
        False, description="Refuse a login (page and password grant) until the person confirmed their email address."
    )
    mfa: Literal["off", "optional", "required"] = Field(
        "optional",
        description=(
            "Second factors (docs/mfa.md). `optional`: people may add an authenticator app, and roles with "
            "`require_mfa` need one; `required`: everyone signs in with a second factor (enrolled at the next "
            "login); `off`: no second factor is offered or asked for."
        ),
    )
    outbox_max_attempts: int = Field(
        8, ge=1, le=100, description="Delivery attempts of one outbox message before it is marked failed."
    )
    outbox_retry_base: float = Field(
        30.0, gt=0, description="Seconds before the first retry; each further retry waits twice as long."
    )
    outbox_retry_max: float = Field(3600.0, gt=0, description="Longest wait between two delivery attempts (seconds).")
    outbox_poll_interval: float = Field(
        2.0, gt=0, le=300, description="Seconds the background sender waits between two looks at the outbox."
    )
    outbox_lease: float = Field(
        120.0, ge=5,
        description=(
            "Seconds a claimed message is reserved for the process sending it; if that process dies, another "
            "sends it after this (at-least-once). Must exceed the longest delivery (smtp_timeout and then some)."
        ),
    )
    outbox_retention_days: int = Field(
        30, ge=1,
        description="Days a sent or failed outbox message is kept (to show in `authgate mail outbox` and the "
                    "console) before `authgate purge` deletes it. Pending messages are never purged.",
    )

    # --- webhooks (see webhooks/) ----------------------------------------------
    webhook_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds one webhook delivery (connect, send, answer) may take."
    )
    webhook_allow_private_addresses: bool | None = Field(
        None,
        description=(
            "Let webhooks reach loopback, private and link-local addresses (SSRF guard). Unset: loopback only "
            "when the issuer is on loopback (development), never private ranges."
        ),
    )

    log_level: str = Field("INFO", description="Python logging level name.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "`json`: one JSON object per line (timestamp, level, logger, message, request_id, route, status, "
            "latency_ms, client_id, sub) for a log collector; `text`: one readable line. Secrets are redacted in both."
        ),
    )
    access_log: bool = Field(
        False,
        description=(
            "Log one line per HTTP request (method, route, status, latency); off by default, it costs time per request."
        ),
    )
    metrics_enabled: bool = Field(
        False,
        description=(
            "Serve Prometheus metrics at `/metrics` (off: the route does not exist). Keep it off the public "
            "network (a proxy rule) or set `metrics_token`."
        ),
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "When set, `/metrics` answers only requests with `Authorization: Bearer <this token>` "
            "(Prometheus' `authorization` setting)."
        ),
    )

    @field_validator("issuer", "email_link_base")
    @classmethod
    def _issuer_shape(cls, value: str | None) -> str | None:
        # OIDC Discovery §3 / RFC 8414 §2: https URL, no query or fragment.
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("issuer must be an http(s) URL without query or fragment")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in {"smtp", "smtp+starttls", "smtps"} or not parts.hostname:
            raise ValueError("smtp_url must be smtp://, smtp+starttls:// or smtps:// with a host")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls, env_settings))

    @property
    def link_base(self) -> str:
        """Where links in messages point: `email_link_base`, else the issuer."""
        return (self.email_link_base or self.issuer).rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'authgate.db').resolve()}"

    @property
    def webhook_reaches_loopback(self) -> bool:
        """Whether deliveries may go to loopback: by the setting, else only when the issuer is on loopback."""
        if self.webhook_allow_private_addresses is not None:
            return self.webhook_allow_private_addresses
        return _is_loopback(urlsplit(self.issuer).hostname or "")

    def insecure_defaults(self) -> list[str]:
        """Say which insecure defaults are still in use, one sentence each."""
        warnings = []
        if self.master_key is None:
            warnings.append(
                "AUTHGATE_MASTER_KEY is unset: signing keys are encrypted with a generated key "
                f"stored beside the data ({self.data_dir / 'master.key'}); fine for development only."
            )
        parts = urlsplit(self.issuer)
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            warnings.append(
                f"AUTHGATE_ISSUER {self.issuer} is plain HTTP on a non-loopback host: tokens and "
                "passwords would cross the network unencrypted."
            )
        if self.resolved_database_url.startswith("sqlite"):
            warnings.append(
                "Using the embedded SQLite database: one server host only; set "
                "AUTHGATE_DATABASE_URL to PostgreSQL for production."
            )
        if self.smtp_url is None:
            warnings.append(
                "AUTHGATE_SMTP_URL is unset: mail is NOT delivered; every message (links and codes "
                "included) is written to the server log instead."
            )
        return warnings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the optional config file named by AUTHGATE_CONFIG (YAML or JSON)."""

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = self._env().get("config")
        if not path:
            return {}
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"config file {path} must hold a mapping of setting names to values")
        return data


def warn_insecure_defaults(settings: Settings) -> None:
    for message in settings.insecure_defaults():
        logger.warning("insecure default: %s", message)
