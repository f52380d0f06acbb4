"""The declarative schema. Every change here ships with an Alembic migration.

Secrets never sit here in the clear: client secrets, refresh tokens,
authorization codes and sessions are stored as SHA-256 digests of
high-entropy values; passwords as argon2id hashes; signing keys encrypted
with the master key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from authgate.clock import utcnow
from authgate.subjects import new_user_subject

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


role_permissions = Table(
    "role_permissions",
    Base.metadata,
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True),
)

user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)

client_permissions = Table(
    "client_permissions",
    Base.metadata,
    Column("client_pk", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"
    # Prefix search ("ab%") on PostgreSQL needs pattern ops unless the collation is C.
    __table_args__ = (
        Index("ix_users_username_prefix", "username", postgresql_ops={"username": "varchar_pattern_ops"}),
        Index("ix_users_email_prefix", "email", postgresql_ops={"email": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `sub` of the user's tokens (authgate/subjects.py): never the id, which is sequential.
    subject: Mapped[str] = mapped_column(String(64), unique=True, default=new_user_subject)
    # Stored case-folded; prefix search uses the index (see migration for PostgreSQL opclass).
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, back_populates="users")

    def __repr__(self) -> str:  # never the hash
        return f"<User id={self.id} username={self.username!r}>"


class Api(Base):
    """A resource server; its identifier is the `aud` of tokens issued for it."""

    __tablename__ = "apis"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    permissions: Mapped[list[Permission]] = relationship(
        back_populates="api", cascade="all, delete-orphan", order_by="Permission.name"
    )

    def __repr__(self) -> str:
        return f"<Api {self.identifier!r}>"


class Permission(Base):
    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("api_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_id: Mapped[int] = mapped_column(ForeignKey("apis.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(400))

    api: Mapped[Api] = relationship(back_populates="permissions")

    def __repr__(self) -> str:
        return f"<Permission {self.name!r}>"


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    description: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Holders must sign in with a second factor; None: the default (accounts/mfa.py, `role_requires_mfa`).
    require_mfa: Mapped[bool | None] = mapped_column(Boolean)

    permissions: Mapped[list[Permission]] = relationship(secondary=role_permissions)
    users: Mapped[list[User]] = relationship(secondary=user_roles, back_populates="roles")

    def __repr__(self) -> str:
        return f"<Role {self.name!r}>"


class Client(Base):
    """An OAuth client (RFC 6749 §2). Public clients have no secret."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))  # "public" | "confidential"
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    web_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    default_audience: Mapped[str | None] = mapped_column(String(400))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    secret_rotated_at: Mapped[datetime | None]
    # Dynamic client registration (RFC 7591): set for clients that registered themselves.
    dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    # The `scope` the client registered: its default when an authorization request names none.
    registered_scope: Mapped[str | None] = mapped_column(String(2000))
    # RFC 7592 §3: the registration access token, as its digest.
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(index=True)

    permissions: Mapped[list[Permission]] = relationship(secondary=client_permissions)

    def __repr__(self) -> str:
        return f"<Client {self.client_id!r} {self.type}>"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_type_at", "type", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    client_id: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20), default="success")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SigningKey(Base):
    """A signing key pair; the private half encrypted with the master key."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a newer key of the same alg took over signing.
    retired_at: Mapped[datetime | None]
    # After this instant the key is no longer published in the JWKS.
    unpublish_at: Mapped[datetime | None]


class RefreshToken(Base):
    """One link in a refresh token family (rotation chain)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str | None] = mapped_column(String(400))
    scope: Mapped[str] = mapped_column(Text, default="")
    auth_time: Mapped[datetime | None]
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # How the user authenticated when the family began (RFC 8176); a refresh keeps it. [] for a client's own.
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    family_expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    successor_hash: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str | None] = mapped_column(String(400))
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[datetime]
    acr: Mapped[str | None] = mapped_column(String(100))
    session_id: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)  # the session's, when the code was issued
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    # The refresh token family issued from this code, revoked if the code is replayed.
    issued_family_id: Mapped[str | None] = mapped_column(String(64))
    issued_access_jti: Mapped[str | None] = mapped_column(String(64))


class RevokedAccessToken(Base):
    """A JWT access token revoked before its expiry (RFC 7009); kept until it expires."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Failure counters for brute-force protection, keyed by account or address."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class BrowserSession(Base):
    """A hosted-pages login session; the cookie holds a random value, this its digest."""

    __tablename__ = "browser_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)  # public session id (OIDC `sid`)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    # How the person authenticated in this session (RFC 8176 values, e.g. ["pwd"], ["pwd", "otp", "mfa"]).
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)


class Consent(Base):
    """Scopes a user granted a third-party client; remembered until revoked."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConsoleSession(Base):
    """A web admin console login: the console's own server-side session, as an OAuth client holds one.

    The cookie holds a random value, this its digest. The pending
    authorization request (state, nonce, PKCE verifier) and then the tokens
    are encrypted with the master key, bound to the row's id.
    """

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Both unset until the login completes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    username: Mapped[str | None] = mapped_column(String(150))
    secrets_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    return_to: Mapped[str] = mapped_column(String(2000), default="/admin")
    flashes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    """A message to deliver (mail; later webhooks), written in the transaction of the change that causes it.

    `payload` is what may be shown (recipient, subject, template); `sealed`
    the rest (a message body carries links and codes), encrypted with the
    master key. The sender claims due rows by moving `next_attempt_at` past a
    lease, so a process that dies mid-delivery leaves the row to be retried.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # stable across attempts (Message-ID)
    kind: Mapped[str] = mapped_column(String(40))  # which deliverer: "mail", …
    target: Mapped[str] = mapped_column(String(400))  # where it goes (an address, a URL), for listing
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]


class EmailToken(Base):
    """A link-and-code sent by mail: verify an address, reset a password, accept an invitation.

    Only digests are stored: the link's token (SHA-256 of ≥ 256 random bits)
    and the short code (SHA-256 salted with the token's digest). Single-use
    (`used_at`) and expiring.
    """

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_purpose_email", "purpose", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))  # verify_email | password_reset | invitation
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # the address it was sent to (a new one, for a change)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Passkey(Base):
    """A WebAuthn credential (a passkey) of a user: its public key, never a secret.

    `credential_id` is the authenticator's id for it (WebAuthn §4: at most
    1023 bytes); `sign_count` the last signature counter it reported (a
    32-bit unsigned value, so a big integer here).
    """

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36))
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class PasskeyChallenge(Base):
    """A WebAuthn challenge handed to one browser: single-use (deleted when used), short-lived.

    Only digests: of the challenge, and of the browser's CSRF secret it is bound to.
    """

    __tablename__ = "passkey_challenges"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register | login | second_factor
    browser_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Webhook(Base):
    """An endpoint that receives events (webhooks/events.py) signed per Standard Webhooks.

    The signing secret is encrypted with the master key, bound to `public_id`;
    deliveries are outbox messages of kind "webhook" whose target is `url`.
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "wh_…", what the API and console show
    url: Mapped[str] = mapped_column(String(400), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One delivery attempt of one webhook message: the delivery history the console shows."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), index=True)  # the outbox message (and `webhook-id`)
    webhook_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
class IdentityProvider(Base):
    """An upstream identity provider people may sign in with (OpenID Connect by discovery, or OAuth 2.0).

    `config` holds the rest of its realm-file entry (scopes, endpoints, claim
    and role mapping, trust); the client secret is encrypted with the master
    key, bound to the alias. `problem` says what went wrong the last time
    its configuration was checked (an unreachable issuer), until a check passes.
    """

    __tablename__ = "identity_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))  # "oidc" | "oauth2"
    issuer: Mapped[str | None] = mapped_column(String(400))
    client_id: Mapped[str] = mapped_column(String(400))
    client_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    problem: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FederatedIdentity(Base):
    """A local user's account at an upstream provider: (provider, upstream `sub`) names at most one user."""

    __tablename__ = "federated_identities"
    __table_args__ = (UniqueConstraint("provider_alias", "upstream_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_alias: Mapped[str] = mapped_column(ForeignKey("identity_providers.alias", ondelete="CASCADE"))
    upstream_subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))  # as the provider gave it, to show the person
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class FederationAttempt(Base):
    """A sign-in at an upstream provider in progress, or what a federated sign-in leaves for later.

    Five kinds (federation/attempts.py): `login`, `link`, `factor` and `logout` are single-use (deleted when
    read) and live minutes; `session` remembers which provider signed a browser session in, for as long as
    that session can live. Keyed by a digest (of the `state` sent upstream, the linking form's token, the
    pending login, or the session's `sid`); `sealed` holds the secrets (nonce, PKCE verifier, upstream
    claims, the provider's ID token), encrypted with the master key.
    """

    __tablename__ = "federation_attempts"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # login | link | factor | session | logout
    provider_alias: Mapped[str] = mapped_column(ForeignKey("identity_providers.alias", ondelete="CASCADE"))
    browser_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # the account to link
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    return_to: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TotpFactor(Base):
    """A user's authenticator app (RFC 6238): the secret sealed with the master key; at most one per user."""

    __tablename__ = "totp_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]  # None: enrolment begun, the first code not yet entered
    last_used_at: Mapped[datetime | None]
    # The newest time step accepted: a code of this step or an older one is never accepted again.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One single-use recovery code, as a keyed SHA-256 digest (accounts/recovery_codes.py)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class PendingLogin(Base):
    """A login between the password and the second factor (or enrolment): no session yet.

    The browser holds a random value in a cookie; this row its digest. Single-use, short-lived.
    """

    __tablename__ = "pending_logins"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)  # what the person proved so far
    must_enrol: Mapped[bool] = mapped_column(Boolean, default=False)
    return_to: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
