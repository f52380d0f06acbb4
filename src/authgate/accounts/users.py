"""Users: create, find, change, remove; passwords checked through the hasher and policy."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Row, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from authgate import audit, text
from authgate.accounts.passwords import (
    PasswordHasher,
    PasswordPolicy,
    Verification,
    validate_imported_hash,
)
from authgate.clock import utcnow
from authgate.errors import AlreadyExists, InvalidInput, NotFound
from authgate.mail.addresses import checked_address
from authgate.storage import limits
from authgate.storage.models import RefreshToken, Role, User

if TYPE_CHECKING:
    from authgate.services import Realm

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,149}$")


def normalize_username(raw: str) -> str:
    """Usernames compare case-insensitively: NFKC then casefold, as PRECIS suggests (RFC 8265)."""
    name = unicodedata.normalize("NFKC", raw).strip().casefold()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "Username must be 1–150 characters of letters, digits and . _ @ + -, starting with a letter or digit.",
            field="username",
        )
    return name


def normalize_email(raw: str | None) -> str | None:
    """None for no address; else the address checked and normalised (mail/addresses.py owns the rule)."""
    if raw is None or raw == "":
        return None
    return checked_address(raw)


def display_name(name: str | None) -> str | None:
    return text.checked(name, limits.DISPLAY_NAME, field="name", what="Name")


def _matching(prefix: str) -> ColumnElement[bool]:
    """Username or email starts with `prefix`: a range scan on the prefix indexes."""
    return or_(
        User.username.startswith(prefix.strip().casefold(), autoescape=True),
        User.email.startswith(prefix.strip(), autoescape=True),
    )


class UserService:
    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.session: Session = realm.session
        self.hasher: PasswordHasher = realm.hasher
        self.policy: PasswordPolicy = realm.policy

    # --- reads ---------------------------------------------------------------
    def find(self, username: str) -> User | None:
        try:
            name = normalize_username(username)
        except InvalidInput:
            return None
        return self.session.scalar(select(User).where(User.username == name).options(selectinload(User.roles)))

    def get(self, username: str) -> User:
        user = self.find(username)
        if user is None:
            raise NotFound("user", username)
        return user

    def get_by_id(self, user_id: int) -> User:
        user = self.session.get(User, user_id, options=[selectinload(User.roles)])
        if user is None:
            raise NotFound("user", user_id)
        return user

    def list(self, *, prefix: str | None = None, after: str | None = None, limit: int = 50) -> Sequence[User]:
        """Ordered by username; `after` is the last username of the previous page (keyset pagination)."""
        statement = select(User).options(selectinload(User.roles)).order_by(User.username).limit(limit)
        if prefix:
            statement = statement.where(_matching(prefix))
        if after:
            statement = statement.where(User.username > after)
        return self.session.scalars(statement).all()

    def username_at(self, position: int, *, prefix: str | None = None, after: str | None = None) -> str | None:
        """The username at 0-based `position` in username order (counted from just after `after`), or None past the end.

        Reads the username index alone (an index-only scan on PostgreSQL once
        the table is vacuumed): no row is fetched for the positions skipped.
        """
        statement = select(User.username).order_by(User.username).offset(position).limit(1)
        if prefix:
            statement = statement.where(_matching(prefix))
        if after is not None:
            statement = statement.where(User.username > after)
        return self.session.scalar(statement)

    def every_nth_username(self, n: int) -> Sequence[str]:
        """The usernames at positions n-1, 2n-1, 3n-1 …: anchors to seek from (one scan of the username index)."""
        ranked = select(User.username, func.row_number().over(order_by=User.username).label("position")).subquery()
        statement = select(ranked.c.username).where(ranked.c.position % n == 0).order_by(ranked.c.position)
        return self.session.scalars(statement).all()

    def page(self, number: int, *, size: int = 50, prefix: str | None = None) -> Sequence[User]:
        """Page `number` (1-based) of `list`: seek to the username before it through the index, then one keyset page."""
        if number <= 1:
            return self.list(prefix=prefix, limit=size)
        previous = self.username_at((number - 1) * size - 1, prefix=prefix)
        if previous is None:
            return []
        return self.list(prefix=prefix, after=previous, limit=size)

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0

    # --- writes --------------------------------------------------------------
    def create(
        self,
        username: str,
        *,
        password: str | None = None,
        password_hash: str | None = None,
        email: str | None = None,
        name: str | None = None,
        roles: Sequence[str] = (),
        disabled: bool = False,
        email_verified: bool = False,
    ) -> User:
        name_normalized = normalize_username(username)
        if self.session.scalar(select(User.id).where(User.username == name_normalized)) is not None:
            raise AlreadyExists("user", name_normalized)
        user = User(
            username=name_normalized,
            email=normalize_email(email),
            name=display_name(name),
            disabled=disabled,
            email_verified=email_verified,
            roles=self.realm.roles.get_many(roles),
        )
        self._set_secret(user, password, password_hash)
        self.session.add(user)
        self.session.flush()
        self.realm.changed("user.created", name_normalized)
        return user

    def update(
        self,
        username: str,
        *,
        email: str | EllipsisType | None = ...,
        name: str | EllipsisType | None = ...,
        disabled: bool | None = None,
        email_verified: bool | None = None,
    ) -> User:
        user = self.get(username)
        if email is not ...:
            address = normalize_email(email)
            if address != user.email and email_verified is None:
                email_verified = False  # a new address is not proven until confirmed (OIDC Core §5.1)
            user.email = address
        if name is not ...:
            user.name = display_name(name)
        newly_disabled = bool(disabled) and not user.disabled
        if disabled is not None:
            user.disabled = disabled
        if email_verified is not None:
            user.email_verified = email_verified
        self.realm.changed("user.updated", user.username)
        if newly_disabled:
            self.realm.changed("user.disabled", user.username)
        return user

    def set_password(self, username: str, password: str) -> User:
        """An administrator sets the password (audited as an admin change)."""
        user = self.get(username)
        revoked = self._replace_password(user, password)
        self.realm.changed("user.password_set", user.username, refresh_tokens_revoked=revoked)
        return user

    def change_own_password(self, username: str, password: str, *, ip: str | None) -> User:
        """The person changes their own password (after proving the current one): `password.changed`."""
        user = self.get(username)
        revoked = self._replace_password(user, password)
        audit.record(self.session, audit.PASSWORD_CHANGED, actor=user.username, subject=user.username, ip=ip,
                     refresh_tokens_revoked=revoked)
        return user

    def _replace_password(self, user: User, password: str) -> int:
        """A new password also revokes every refresh token the user holds: a password is often
        changed because the old one leaked, and whoever used it may hold long-lived tokens."""
        self._set_secret(user, password, None)
        revoked: int = self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        return revoked

    def set_roles(self, username: str, roles: Sequence[str]) -> User:
        user = self.get(username)
        user.roles = self.realm.roles.get_many(roles)
        self.realm.changed("user.roles_set", user.username, roles=sorted(r.name for r in user.roles))
        return user

    def add_roles(self, username: str, roles: Sequence[str]) -> User:
        user = self.get(username)
        have = {role.name for role in user.roles}
        user.roles.extend(role for role in self.realm.roles.get_many(roles) if role.name not in have)
        self.realm.changed("user.roles_added", user.username, roles=list(roles))
        return user

    def remove_roles(self, username: str, roles: Sequence[str]) -> User:
        user = self.get(username)
        drop = {role.name for role in self.realm.roles.get_many(roles)}
        user.roles = [role for role in user.roles if role.name not in drop]
        self.realm.changed("user.roles_removed", user.username, roles=sorted(drop))
        return user

    def delete(self, username: str) -> None:
        user = self.get(username)
        self.session.delete(user)
        self.realm.changed("user.deleted", user.username)

    # --- authentication --------------------------------------------------------
    def check_password(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled; None otherwise.

        The check and its record in one transaction (`PasswordLogin` splits
        them, so that no transaction stays open while argon2 runs).
        """
        credentials = find_credentials(self.session, username)
        verification = verify_password(self.hasher, credentials, password)
        if credentials is None or not verification.ok:
            return None
        record_login(self.session, credentials, new_hash=verification.new_hash)
        return self.session.get(User, credentials.id, options=[selectinload(User.roles)], populate_existing=True)

    def _set_secret(self, user: User, password: str | None, password_hash: str | None) -> None:
        if password is not None and password_hash is not None:
            raise InvalidInput("Give a password or a password_hash, not both.", field="password")
        if password is not None:
            self.policy.check(password, user_inputs=(user.username, user.email, user.name))
            user.password_hash = self.hasher.hash(password)
            user.password_changed_at = utcnow()
        elif password_hash is not None:
            user.password_hash = validate_imported_hash(password_hash)
            user.password_changed_at = utcnow()


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a password check reads of a user (no ORM object, no roles)."""

    id: int
    username: str
    subject: str
    password_hash: str | None
    disabled: bool
    email_verified: bool = False


# Every login runs these: built once, on the table (Core), they cost a fraction of an ORM query each.
_users = cast(Table, User.__table__)
# What `credentials_of` reads, for a statement that reads the user with something else (accounts/login.py).
CREDENTIAL_COLUMNS = (_users.c.id, _users.c.username, _users.c.subject, _users.c.password_hash,
                      _users.c.disabled, _users.c.email_verified)
_CREDENTIALS = select(*CREDENTIAL_COLUMNS).where(_users.c.username == bindparam("username"))
_LOGGED_IN = update(_users).where(_users.c.id == bindparam("user_id")).values(last_login_at=bindparam("at"))
_REHASHED = update(_users).where(  # only over the hash that was verified: a password set meanwhile stays
    _users.c.id == bindparam("user_id"), _users.c.password_hash == bindparam("verified_hash"),
).values(password_hash=bindparam("new_hash"))


def login_name(username: str) -> str | None:
    """The username a login names, as typed (normalised); None for an impossible name."""
    try:
        return normalize_username(username)
    except InvalidInput:
        return None


def resolve_login_name(session: Session, typed: str) -> str:
    """The username a login means: as typed, or the account whose verified address it is.

    A login may name the account by its email address when that address is
    verified and no other account has it verified; a username that looks like
    an address wins over an address. Anything else is returned as typed (and
    fails like an unknown username: no enumeration).
    """
    if "@" not in typed:
        return typed
    name = login_name(typed)
    if name is not None and session.scalar(select(_users.c.id).where(_users.c.username == name)) is not None:
        return typed
    try:
        address = checked_address(typed)
    except InvalidInput:
        return typed
    owners = session.scalars(select(_users.c.username).where(
        _users.c.email == address, _users.c.email_verified.is_(True)).limit(2)).all()
    return owners[0] if len(owners) == 1 else typed


def find_credentials(session: Session, username: str) -> Credentials | None:
    """The user a login names, as typed (normalised); None for an unknown or impossible name."""
    name = login_name(username)
    if name is None:
        return None
    return credentials_of(session.execute(_CREDENTIALS, {"username": name}).first())


def credentials_of(row: Row[*tuple[Any, ...]] | None) -> Credentials | None:
    """The `CREDENTIAL_COLUMNS` of a row; None for no row, or no user in it (an outer join that found none)."""
    if row is None or row.id is None:
        return None
    return Credentials(row.id, row.username, row.subject, row.password_hash, row.disabled,
                       bool(row.email_verified))


def verify_password(hasher: PasswordHasher, credentials: Credentials | None, password: str) -> Verification:
    """ok only for an enabled user's right password. Unknown and disabled users cost the same
    argon2 work as anyone (no timing oracle); `new_hash` is set when the stored hash is outdated."""
    if credentials is None:
        hasher.burn(password)
        return Verification(ok=False)
    verification = hasher.verify(credentials.password_hash, password)
    return Verification(ok=False) if credentials.disabled else verification


def record_login(session: Session, credentials: Credentials, *, new_hash: str | None) -> None:
    """`last_login_at` (`updated_at` with it), and the upgraded hash (old parameters or a legacy format) if any."""
    session.execute(_LOGGED_IN, {"user_id": credentials.id, "at": utcnow()})
    if new_hash is not None:
        session.execute(_REHASHED, {"user_id": credentials.id, "verified_hash": credentials.password_hash,
                                    "new_hash": new_hash})


def user_by_subject(session: Session, subject: str) -> User | None:
    """The user a token's `sub` names; None for a client's `sub` or a user deleted since."""
    return session.scalar(select(User).where(User.subject == subject))


def role_names(user: User) -> list[str]:
    return sorted(role.name for role in user.roles)


__all__ = [
    "CREDENTIAL_COLUMNS",
    "Credentials",
    "Role",
    "UserService",
    "credentials_of",
    "find_credentials",
    "login_name",
    "normalize_email",
    "normalize_username",
    "record_login",
    "resolve_login_name",
    "role_names",
    "user_by_subject",
    "verify_password",
]
