"""Make the database match a realm file, in one transaction: all of it, or nothing.

Semantics (what Keycloak's and Terraform's users expect):

- Entries in the file are created, or updated to match. Entities not in the
  file are left alone; nothing is pruned.
- Nested lists are exact: an API declares exactly the listed permissions, a
  role holds exactly the listed ones, a user holds exactly the listed roles.
- `password` is set when the user is created, or when it no longer verifies.
  `password_hash` (an import) is set only when the user is created or has no
  password: a hash upgraded on login is never overwritten by an old import.
- A confidential client without `client_secret` gets one generated at
  creation, returned once in `ApplyResult.generated_secrets`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from authgate import audit
from authgate.access.clients import ClientSpec
from authgate.accounts import legacy_hashes
from authgate.accounts.passwords import validate_imported_hash
from authgate.accounts.users import normalize_email, normalize_username
from authgate.clock import utcnow
from authgate.errors import DomainError, NotFound
from authgate.provisioning.realm_file import RealmFile, RealmFileError, UserEntry
from authgate.services import Realm
from authgate.storage.models import AuditEvent, Role, User, user_roles

Progress = Callable[[int], None]
USER_BATCH = 500


@dataclass
class ApplyResult:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("apis", "roles", "users", "clients"), 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("apis", "roles", "users", "clients"), 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("apis", "roles", "users", "clients"), 0))
    generated_secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, section: str, *, created: bool = False, changed: bool = False) -> None:
        bucket = self.created if created else self.updated if changed else self.unchanged
        bucket[section] += 1


def apply_realm(realm: Realm, file: RealmFile, progress: Progress | None = None) -> ApplyResult:
    """Apply `file`; on errors raise RealmFileError naming every bad entry (the caller's transaction rolls back)."""
    result = ApplyResult()
    problems: list[str] = []
    for step in (_apply_apis, _apply_roles, _apply_clients):
        step(realm, file, result, problems)
    _apply_users(realm, file, result, progress or (lambda _n: None), problems)
    if problems:
        raise RealmFileError(*problems)
    return result


def _problem(file: RealmFile, section: str, index: int, error: DomainError) -> str:
    field = getattr(error, "field", None)
    field_name = f" {field}:" if field else ":"
    return f"{file.where(section, index)}{field_name} {error.message}"


def _apply_apis(realm: Realm, file: RealmFile, result: ApplyResult, problems: list[str]) -> None:
    for index, entry in enumerate(file.apis):
        try:
            api = realm.apis.find(entry.identifier)
            if api is None:
                realm.apis.create(entry.identifier, entry.name, entry.permission_names())
                result.count("apis", created=True)
                continue
            changed = realm.apis.set_permissions(entry.identifier, entry.permission_names())
            if entry.name is not None and entry.name != api.name:
                realm.apis.update(entry.identifier, name=entry.name)
                changed = True
            result.count("apis", changed=changed)
        except DomainError as error:
            problems.append(_problem(file, "apis", index, error))


def _apply_roles(realm: Realm, file: RealmFile, result: ApplyResult, problems: list[str]) -> None:
    for index, entry in enumerate(file.roles):
        try:
            role = realm.roles.find(entry.name)
            if role is None:
                realm.roles.create(entry.name, entry.description, entry.permissions, require_mfa=entry.require_mfa)
                result.count("roles", created=True)
                continue
            changed = realm.roles.set_permissions(entry.name, entry.permissions)
            if "require_mfa" in entry.model_fields_set:
                changed = realm.roles.set_require_mfa(entry.name, entry.require_mfa) or changed
            if entry.description is not None and entry.description != role.description:
                realm.roles.update(entry.name, description=entry.description)
                changed = True
            result.count("roles", changed=changed)
        except DomainError as error:
            problems.append(_problem(file, "roles", index, error))


def _apply_clients(realm: Realm, file: RealmFile, result: ApplyResult, problems: list[str]) -> None:
    for index, entry in enumerate(file.clients):
        spec = ClientSpec(**entry.model_dump())
        try:
            if realm.clients.find(entry.client_id) is None:
                _, secret = realm.clients.create(spec)
                if secret:
                    result.generated_secrets[entry.client_id] = secret
                result.count("clients", created=True)
            else:
                _, changed = realm.clients.update(spec)
                result.count("clients", changed=changed)
        except DomainError as error:
            problems.append(_problem(file, "clients", index, error))


def _apply_users(realm: Realm, file: RealmFile, result: ApplyResult, progress: Progress, problems: list[str]) -> None:
    """Users come in batches: one query finds a batch's existing users, and new users that
    need no hashing (imports) are written with bulk INSERTs, so 10,000 imports stay fast."""
    roles_by_name = {role.name: role for role in realm.roles.list()}
    entries = list(enumerate(file.users))
    for start in range(0, len(entries), USER_BATCH):
        batch = entries[start : start + USER_BATCH]
        names = {}
        for index, entry in batch:
            try:
                names[index] = normalize_username(entry.username)
            except DomainError as error:
                problems.append(_problem(file, "users", index, error))
        existing = {
            user.username: user
            for user in realm.session.scalars(
                select(User).where(User.username.in_(names.values())).options(selectinload(User.roles))
            )
        }
        bulk: list[tuple[dict[str, object], list[int]]] = []
        for index, entry in batch:
            if index not in names:
                continue
            try:
                row = _apply_user(realm, entry, names[index], existing, roles_by_name, result)
            except DomainError as error:
                problems.append(_problem(file, "users", index, error))
                continue
            if row is not None:
                bulk.append(row)
        if not problems:  # otherwise all of it rolls back: nothing more to write
            _insert_users(realm, bulk)
            realm.session.flush()
        progress(len(batch))


def _insert_users(realm: Realm, rows: list[tuple[dict[str, object], list[int]]]) -> None:
    if not rows:
        return
    now = utcnow()
    values = [{**row, "created_at": now, "updated_at": now} for row, _ in rows]
    inserted = realm.session.execute(insert(User).returning(User.id, User.username, sort_by_parameter_order=True), values).all()
    links = [{"user_id": user_id, "role_id": role_id} for (user_id, _), (_, role_ids) in zip(inserted, rows) for role_id in role_ids]
    if links:
        realm.session.execute(insert(user_roles), links)
    realm.session.execute(insert(AuditEvent), [
        {"type": audit.ADMIN_CHANGE, "actor": realm.actor, "subject": username, "outcome": "success", "at": now,
         "detail": {"change": "user.created", "imported": row["password_hash"] is not None}}
        for (_, username), (row, _) in zip(inserted, rows)
    ])


def _apply_user(
    realm: Realm,
    entry: UserEntry,
    username: str,
    existing: dict[str, User],
    roles_by_name: dict[str, Role],
    result: ApplyResult,
) -> tuple[dict[str, object], list[int]] | None:
    """Create or update one user; a new user needing no hashing is returned as a row for bulk insert."""
    missing = [name for name in entry.roles if name not in roles_by_name]
    if missing:
        raise NotFound("role", ", ".join(missing))
    roles = [roles_by_name[name] for name in dict.fromkeys(entry.roles)]
    imported = _imported_hash(entry.password_hash)
    user = existing.get(username)
    if user is None:
        result.count("users", created=True)
        if entry.password is not None:
            existing[username] = realm.users.create(
                username, password=entry.password, email=entry.email, name=entry.name, disabled=entry.disabled,
                email_verified=entry.email_verified, roles=entry.roles,
            )
            return None
        row: dict[str, object] = {
            "username": username, "email": normalize_email(entry.email), "name": entry.name,
            "disabled": entry.disabled, "email_verified": entry.email_verified, "password_hash": imported,
            "password_changed_at": utcnow() if imported else None,
        }
        return row, [role.id for role in roles]
    changed = False
    for attribute, value in (
        ("email", normalize_email(entry.email)), ("name", entry.name),
        ("disabled", entry.disabled), ("email_verified", entry.email_verified),
    ):
        if getattr(user, attribute) != value:
            setattr(user, attribute, value)
            changed = True
    if sorted(r.name for r in user.roles) != sorted(r.name for r in roles):
        user.roles = roles
        changed = True
    if entry.password is not None and not realm.hasher.verify(user.password_hash, entry.password).ok:
        realm.users.set_password(username, entry.password)
        changed = True
    if imported is not None and not user.password_hash:
        user.password_hash = imported
        changed = True
    if changed:
        realm.changed("user.updated", username)
    result.count("users", changed=changed)
    return None


def _imported_hash(value: str | dict[str, object] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return legacy_hashes.from_keycloak(value)
    return validate_imported_hash(value)


def describe(result: ApplyResult) -> Sequence[tuple[str, int, int, int]]:
    return [(section, result.created[section], result.updated[section], result.unchanged[section]) for section in result.created]
