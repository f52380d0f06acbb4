"""Upstream accounts linked to local users, and who a federated sign-in is.

A (provider, upstream `sub`) names at most one local user (a unique
constraint). A sign-in whose upstream identity is not linked yet either

- links to the local account with the same email address without asking,
  only when the provider is trusted for emails (`trust_email`), asserts the
  address verified, and the local address is verified too (otherwise
  someone who registered the address first could take over the account);
- or asks the person to prove the local account (its password, through the
  same login path as the login page) before linking — `NeedsLink`;
- is refused when the address matches a local account but the provider does
  not assert it verified (`UnverifiedEmail`): an unverified address never links;
- or creates a local user (just in time) through `UserService`, so every
  user rule applies: the username from `preferred_username` or the email,
  made unique; `email_verified` only when asserted and the provider trusted;
  roles from `roles_from` and `default_roles`.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from authgate import audit, text
from authgate.accounts.users import normalize_email, normalize_username
from authgate.clock import utcnow
from authgate.errors import DomainError, InvalidInput
from authgate.federation.providers import ProviderSpec
from authgate.federation.upstream import UpstreamInvalid
from authgate.storage import limits
from authgate.storage.models import FederatedIdentity, User

if TYPE_CHECKING:
    from authgate.services import Realm

logger = logging.getLogger("authgate.federation")
SUBJECT_LENGTH = 255
_NOT_IN_USERNAME = re.compile(r"[^a-z0-9._@+-]+")


@dataclass(frozen=True)
class UpstreamIdentity:
    """Who the provider says signed in, read through the provider's claim mapping."""

    alias: str
    subject: str
    username: str | None
    email: str | None
    email_verified: bool  # the provider asserted it
    name: str | None
    roles: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "username": self.username, "email": self.email,
                "email_verified": self.email_verified, "name": self.name, "roles": list(self.roles)}

    @classmethod
    def from_dict(cls, alias: str, data: Mapping[str, Any]) -> UpstreamIdentity:
        return cls(alias, str(data["subject"]), data.get("username"), data.get("email"),
                   bool(data.get("email_verified")), data.get("name"), tuple(data.get("roles") or ()))


def identity_from_claims(spec: ProviderSpec, claims: Mapping[str, Any]) -> UpstreamIdentity:
    names = spec.claim_names
    subject = claims.get(names["subject"])
    if isinstance(subject, int) and not isinstance(subject, bool):
        subject = str(subject)  # GitHub's user id is a number
    if not isinstance(subject, str) or not subject or len(subject) > SUBJECT_LENGTH or not text.is_acceptable(subject):
        raise UpstreamInvalid("The provider did not say who signed in.", f"no usable {names['subject']!r} claim")
    email = _text(claims.get(names["email"]), limits.EMAIL)
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = None  # an address authgate cannot use is as good as none
    verified = claims.get(names["email_verified"]) is True or claims.get(names["email_verified"]) == "true"
    return UpstreamIdentity(
        alias=spec.alias, subject=subject, username=_text(claims.get(names["username"]), limits.USERNAME),
        email=email, email_verified=verified and email is not None,
        name=_text(claims.get(names["name"]), limits.DISPLAY_NAME),
        roles=tuple(dict.fromkeys([*(spec.roles_from.roles_for(claims) if spec.roles_from else ()),
                                   *spec.default_roles])),
    )


def _text(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip() or not text.is_acceptable(value):
        return None
    return value.strip()[:max_length]


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    created: bool


@dataclass(frozen=True)
class NeedsLink:
    """A local account has this address: its owner must prove it before the identity is linked."""

    user_id: int
    username: str


class UnverifiedEmail(DomainError):
    """The address belongs to a local account, but the provider does not vouch for it."""

    def __init__(self) -> None:
        super().__init__("The provider did not confirm this email address, and an account here already uses it.")


class AccountDisabled(DomainError):
    def __init__(self) -> None:
        super().__init__("This account is disabled.")


def resolve(realm: Realm, spec: ProviderSpec, identity: UpstreamIdentity, *, ip: str | None,
            client_id: str | None) -> SignedIn | NeedsLink:
    """Who this sign-in is: the linked user, an automatic link, a link to prove, or a new user."""
    linked = realm.session.scalar(select(FederatedIdentity).where(
        FederatedIdentity.provider_alias == spec.alias, FederatedIdentity.upstream_subject == identity.subject))
    if linked is not None:
        user = realm.users.get_by_id(linked.user_id)
        if user.disabled:
            raise AccountDisabled()
        linked.last_login_at = utcnow()
        linked.email = identity.email
        return _logged_in(realm, user, spec, ip=ip, client_id=client_id, created=False)
    existing = _account_with_address(realm, identity.email)
    if existing is not None:
        if not identity.email_verified:
            raise UnverifiedEmail()
        if not (spec.trust_email and existing.email_verified):
            return NeedsLink(existing.id, existing.username)
        if existing.disabled:
            raise AccountDisabled()
        link(realm, existing, identity, ip=ip, proven_by="trusted_email")
        return _logged_in(realm, existing, spec, ip=ip, client_id=client_id, created=False)
    user = realm.users.create(
        unique_username(realm, identity), email=identity.email, name=identity.name, roles=identity.roles,
        email_verified=identity.email_verified and spec.trust_email,
    )
    audit.record(realm.session, audit.FEDERATED_USER_CREATED, actor=spec.alias, subject=user.username, ip=ip,
                 provider=spec.alias, roles=list(identity.roles))
    link(realm, user, identity, ip=ip, proven_by="first_login")
    return _logged_in(realm, user, spec, ip=ip, client_id=client_id, created=True)


def link_proven(realm: Realm, user_id: int, identity: UpstreamIdentity, *, ip: str | None, proven_by: str) -> bool:
    """Link an identity whose account was proven a while ago (a form, a second factor): False, and nothing
    written, when the identity was linked meanwhile (to this account by another sign-in, or to another)."""
    linked = realm.session.scalar(select(FederatedIdentity.user_id).where(
        FederatedIdentity.provider_alias == identity.alias, FederatedIdentity.upstream_subject == identity.subject))
    if linked is not None:
        if linked != user_id:
            logger.warning("identity %s at %s was linked to another account meanwhile; not linked", identity.subject,
                           identity.alias)
        return False
    link(realm, realm.users.get_by_id(user_id), identity, ip=ip, proven_by=proven_by)
    return True


def link(realm: Realm, user: User, identity: UpstreamIdentity, *, ip: str | None, proven_by: str) -> None:
    realm.session.add(FederatedIdentity(provider_alias=identity.alias, upstream_subject=identity.subject,
                                        user_id=user.id, email=identity.email, last_login_at=utcnow()))
    realm.session.flush()
    audit.record(realm.session, audit.FEDERATED_LINKED, actor=user.username, subject=user.username, ip=ip,
                 provider=identity.alias, proven_by=proven_by)


def _logged_in(realm: Realm, user: User, spec: ProviderSpec, *, ip: str | None, client_id: str | None,
               created: bool) -> SignedIn:
    user.last_login_at = utcnow()
    audit.record(realm.session, audit.FEDERATED_LOGIN, subject=user.username, client_id=client_id, ip=ip,
                 provider=spec.alias)
    return SignedIn(user.id, user.username, created)


def _account_with_address(realm: Realm, email: str | None) -> User | None:
    if email is None:
        return None
    return realm.session.scalars(select(User).where(func.lower(User.email) == email.lower())
                                 .order_by(User.email_verified.desc(), User.id).limit(1)).first()


def unique_username(realm: Realm, identity: UpstreamIdentity) -> str:
    """`preferred_username`, else the email, else the provider and subject; a suffix when taken."""
    for candidate in (identity.username, identity.email, f"{identity.alias}-{identity.subject}"):
        base = _username_from(candidate)
        if base is None:
            continue
        name = base
        for _attempt in range(20):
            if realm.users.find(name) is None:
                return name
            suffix = "-" + secrets.token_hex(3)
            name = base[: limits.USERNAME - len(suffix)] + suffix
    return normalize_username(f"{identity.alias}-{secrets.token_hex(8)}")


def _username_from(value: str | None) -> str | None:
    if not value:
        return None
    folded = _NOT_IN_USERNAME.sub("-", unicodedata.normalize("NFKC", value).casefold()).strip("-._@+")
    try:
        return normalize_username(folded[: limits.USERNAME])
    except InvalidInput:
        return None


# --- the person's own linked identities ------------------------------------------------------
def linked_identities(realm: Realm, user_id: int) -> Sequence[FederatedIdentity]:
    return realm.session.scalars(select(FederatedIdentity).where(FederatedIdentity.user_id == user_id)
                                 .order_by(FederatedIdentity.provider_alias)).all()


class LastWayToSignIn(DomainError):
    def __init__(self) -> None:
        super().__init__("This is the only way to sign in to this account: set a password first.")


def unlink(realm: Realm, user_id: int, alias: str, *, ip: str | None) -> bool:
    """Unlink the user's identity at `alias`; never the last way to sign in (no password, no other identity)."""
    user = realm.users.get_by_id(user_id)
    identities = linked_identities(realm, user_id)
    if not any(identity.provider_alias == alias for identity in identities):
        return False
    if not user.password_hash and len(identities) <= 1:
        raise LastWayToSignIn()
    realm.session.execute(delete(FederatedIdentity).where(FederatedIdentity.user_id == user_id,
                                                          FederatedIdentity.provider_alias == alias))
    audit.record(realm.session, audit.FEDERATED_UNLINKED, actor=user.username, subject=user.username, ip=ip,
                 provider=alias)
    return True
