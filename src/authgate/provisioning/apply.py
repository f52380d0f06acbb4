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
  creation, returned once in `ApplyResult.generated_secrets`; `secret_hash`
  (what `authgate export --include-secrets` writes) restores the stored digest.
- A user's `subject` (the `sub` of their tokens) is kept when the user is
  created; an existing user's subject never changes.
- A webhook (keyed by its URL) without `secret` gets one generated at
  creation, returned once in `ApplyResult.generated_webhook_secrets`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from authgate import audit
from authgate.access.clients import ClientSpec
from authgate.accounts import legacy_hashes
from authgate.accounts.passwords import validate_imported_hash
from authgate.accounts.users import normalize_email, normalize_username
from authgate.clock import utcnow
from authgate.errors import AlreadyExists, DomainError, InvalidInput, NotFound
from authgate.federation.providers import IdentityProviders, ProviderSecrets, build_spec
from authgate.provisioning.identity_providers import MissingSecret
from authgate.provisioning.realm_file import RealmFile, RealmFileError, UserEntry
from authgate.services import Realm
from authgate.storage import limits
from authgate.storage.models import AuditEvent, Role, User, user_roles
from authgate.subjects import has_user_subject_shape, new_user_subject
from authgate.webhooks import fanout
from authgate.webhooks.subscriptions import WebhookSpec

Progress = Callable[[int], None]
USER_BATCH = 500


KINDS = ("apis", "roles", "users", "clients", "webhooks", "identity_providers")


@dataclass
class ApplyResult:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    generated_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    generated_webhook_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # Identity providers whose discovery should be checked once the transaction is committed (no I/O in it).
    identity_providers: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def count(self, section: str, *, created: bool = False, changed: bool = False) -> None:
        bucket = self.created if created else self.updated if changed else self.unchanged
        bucket[section] += 1


def apply_realm(
    realm: Realm,
    file: RealmFile,
    progress: Progress | None = None,
    *,
    provider_secrets: ProviderSecrets | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApplyResult:
    """Apply `file`; on errors raise RealmFileError naming every bad entry (the caller's transaction rolls back).

    `provider_secrets` seals identity providers' client secrets (`Services.federation.secrets`); `environ`
    is where `client_secret_env` names are looked up (default: this process's environment).
    """
    result = ApplyResult()
    problems: list[str] = []
    for step in (_apply_apis, _apply_roles, _apply_clients, _apply_webhooks):
        step(realm, file, result, problems)
    if file.identity_providers:
        _apply_identity_providers(realm, file, result, problems, provider_secrets,
                                  os.environ if environ is None else environ)
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


def _apply_webhooks(realm: Realm, file: RealmFile, result: ApplyResult, problems: list[str]) -> None:
    for index, entry in enumerate(file.webhooks):
        spec = WebhookSpec(url=entry.url, events=entry.events, description=entry.description, secret=entry.secret)
        try:
            existing = realm.webhooks.find_by_url(entry.url)
            if existing is None:
                _, secret = realm.webhooks.create(spec)
                if secret:
                    result.generated_webhook_secrets[entry.url] = secret
                result.count("webhooks", created=True)
            else:
                _, changed = realm.webhooks.update(existing.public_id, spec)
                result.count("webhooks", changed=changed)
        except DomainError as error:
            problems.append(_problem(file, "webhooks", index, error))


def _apply_identity_providers(realm: Realm, file: RealmFile, result: ApplyResult, problems: list[str],
                              secrets: ProviderSecrets | None, environ: Mapping[str, str]) -> None:
    if secrets is None:
        problems.append("identity_providers: applying them needs the master key (use authgate apply)")
        return
    providers = IdentityProviders(realm, secrets)
    for index, entry in enumerate(file.identity_providers):
        try:
            secret = entry.secret(environ)
        except MissingSecret as missing:
            problems.append(f"{file.where('identity_providers', index)}: {missing}")
            continue
        try:
            spec = build_spec(entry.spec_values())
            existing = providers.find(spec.alias)
            if secret is None and (existing is None or existing.client_secret_encrypted is None):
                problems.append(f"{file.where('identity_providers', index)}: client_secret is required "
                                "(or client_secret_env naming an environment variable)")
                continue
            if existing is None:
                assert secret is not None
                providers.create(spec, secret)
                result.count("identity_providers", created=True)
            else:
                _, changed = providers.update(spec, secret)
                result.count("identity_providers", changed=changed)
        except DomainError as error:
            problems.append(_problem(file, "identity_providers", index, error))
            continue
        if not spec.disabled:
            result.identity_providers.append(spec.alias)


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
        subjects_taken = _subjects_taken(realm, [entry.subject for _, entry in batch if entry.subject])
        bulk: list[tuple[dict[str, object], list[int]]] = []
        for index, entry in batch:
            if index not in names:
                continue
            try:
                row = _apply_user(realm, entry, names[index], existing, roles_by_name, subjects_taken, result)
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
    returning = insert(User).returning(User.id, User.username, sort_by_parameter_order=True)
    inserted = realm.session.execute(returning, values).all()  # one per row, in the rows' order
    links = [
        {"user_id": user_id, "role_id": role_id}
        for (user_id, _), (_, role_ids) in zip(inserted, rows, strict=True)
        for role_id in role_ids
    ]
    if links:
        realm.session.execute(insert(user_roles), links)
    realm.session.execute(insert(AuditEvent), [
        {"type": audit.ADMIN_CHANGE, "actor": realm.actor, "subject": username, "outcome": "success", "at": now,
         "detail": {"change": "user.created", "imported": row["password_hash"] is not None}}
        for (_, username), (row, _) in zip(inserted, rows, strict=True)
    ])
    if fanout.has_subscribers(realm.session, "user.created"):  # the bulk insert bypassed audit.record
        for (_, username), (row, _) in zip(inserted, rows, strict=True):
            fanout.queue_event(realm.session, audit.ADMIN_CHANGE, subject=username, actor=realm.actor, now=now,
                               detail={"change": "user.created", "imported": row["password_hash"] is not None})


def _apply_user(
    realm: Realm,
    entry: UserEntry,
    username: str,
    existing: dict[str, User],
    roles_by_name: dict[str, Role],
    subjects_taken: dict[str, str],
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
        subject = _new_subject(entry.subject, username, subjects_taken)
        result.count("users", created=True)
        if entry.password is not None:
            created = realm.users.create(
                username, password=entry.password, email=entry.email, name=entry.name, disabled=entry.disabled,
                email_verified=entry.email_verified, roles=entry.roles,
            )
            created.subject = subject
            existing[username] = created
            return None
        row: dict[str, object] = {
            "subject": subject, "username": username, "email": normalize_email(entry.email), "name": entry.name,
            "disabled": entry.disabled, "email_verified": entry.email_verified, "password_hash": imported,
            "password_changed_at": utcnow() if imported else None,
        }
        return row, [role.id for role in roles]
    changed = False
    newly_disabled = entry.disabled and not user.disabled
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
    if newly_disabled:
        realm.changed("user.disabled", username)
    result.count("users", changed=changed)
    return None


def _subjects_taken(realm: Realm, subjects: list[str]) -> dict[str, str]:
    """Which of these subjects users hold already: subject → username."""
    storable = [subject for subject in subjects if limits.is_storable(subject, limits.USER_SUBJECT)]
    if not storable:
        return {}
    rows = realm.session.execute(select(User.subject, User.username).where(User.subject.in_(storable)))
    return dict(rows.all())  # a list of rows: the Result itself has keys() and would be read as a mapping


def _new_subject(subject: str | None, username: str, taken: dict[str, str]) -> str:
    """The subject a new user gets: the file's (a restore keeps every `sub`), else a fresh one."""
    if subject is None:
        return new_user_subject()
    if not limits.is_storable(subject, limits.USER_SUBJECT) or not has_user_subject_shape(subject):
        raise InvalidInput("subject must be a UUID (or the all-digit subject of an older user)", field="subject")
    if taken.get(subject, username) != username:
        raise AlreadyExists("user with subject", subject)
    taken[subject] = username
    return subject


def _imported_hash(value: str | dict[str, object] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return legacy_hashes.from_keycloak(value)
    return validate_imported_hash(value)


def describe(result: ApplyResult) -> Sequence[tuple[str, int, int, int]]:
    return [
        (section, result.created[section], result.updated[section], result.unchanged[section])
        for section in result.created
    ]
