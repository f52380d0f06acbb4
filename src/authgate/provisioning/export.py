"""The realm as a file `apply` accepts: `authgate export [--include-secrets]`.

Deterministic, so that export → apply on an empty database → export gives
the same bytes: every section and every list is sorted by its key, every
entry's keys come in the realm file's field order, and a field at its
default is left out. Secrets are hashes only — a user's password hash and
a confidential client's secret digest — plus the webhooks' signing secrets,
which are the one thing that must be kept in the clear to sign; all only
with `include_secrets`. Without it a restored confidential client or
webhook gets a new secret (printed once by `apply`).

Not exported: dynamically registered clients (their software registers them
again), permission descriptions (apply does not set them), and what lives
only in the database (signing keys, sessions, tokens, the audit log): a
backup (`authgate backup`, `pg_dump`) keeps those.

Sections from other features plug in through `SECTION_EXPORTERS`: a
function `(session, include_secrets) -> list of entries` under the realm
file's key for its section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import yaml
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from authgate.federation.providers import ProviderSecrets
from authgate.masterkey import MasterKey
from authgate.provisioning.identity_providers import export_identity_providers
from authgate.provisioning.realm_file import (
    ApiEntry,
    ClientEntry,
    RoleEntry,
    UserEntry,
    WebhookEntry,
)
from authgate.storage.models import Api, Client, Permission, Role, User, Webhook

Entry = dict[str, Any]
SectionExporter = Callable[[Session, bool], list[Entry]]
Progress = Callable[[int], None]
USER_BATCH = 1000


def _entry(model: BaseModel) -> Entry:
    return model.model_dump(exclude_defaults=True, exclude={"lines"})


def _grants(permissions: Iterable[Permission]) -> dict[str, list[str]]:
    grants: dict[str, list[str]] = {}
    for permission in permissions:
        grants.setdefault(permission.api.identifier, []).append(permission.name)
    return {api: sorted(names) for api, names in sorted(grants.items())}


def export_apis(session: Session, include_secrets: bool) -> list[Entry]:
    apis = session.scalars(select(Api).options(selectinload(Api.permissions)).order_by(Api.identifier))
    return [_entry(ApiEntry(identifier=api.identifier, name=api.name,
                            permissions=sorted(permission.name for permission in api.permissions))) for api in apis]


def export_roles(session: Session, include_secrets: bool) -> list[Entry]:
    roles = session.scalars(select(Role).options(selectinload(Role.permissions).selectinload(Permission.api))
                            .order_by(Role.name))
    return [_entry(RoleEntry(name=role.name, description=role.description, permissions=_grants(role.permissions)))
            for role in roles]


def export_clients(session: Session, include_secrets: bool) -> list[Entry]:
    clients = session.scalars(
        select(Client).where(Client.dynamic.is_(False))
        .options(selectinload(Client.permissions).selectinload(Permission.api)).order_by(Client.client_id)
    )
    return [_entry(ClientEntry(
        client_id=client.client_id, type=client.type, name=client.name,
        secret_hash=client.secret_hash if include_secrets and client.type == "confidential" else None,
        redirect_uris=list(client.redirect_uris), post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        web_origins=list(client.web_origins), grant_types=list(client.grant_types), first_party=client.first_party,
        default_audience=client.default_audience, permissions=_grants(client.permissions), disabled=client.disabled,
    )) for client in clients]


def export_users(session: Session, include_secrets: bool, progress: Progress = lambda _n: None) -> list[Entry]:
    """Every user, by username, read in keyset batches (a realm may hold millions)."""
    entries: list[Entry] = []
    after = ""
    while True:
        batch = session.scalars(select(User).where(User.username > after).options(selectinload(User.roles))
                                .order_by(User.username).limit(USER_BATCH)).all()
        if not batch:
            return entries
        entries.extend(_entry(UserEntry(
            username=user.username, subject=user.subject, email=user.email, name=user.name,
            password_hash=user.password_hash if include_secrets else None,
            roles=sorted(role.name for role in user.roles),
            disabled=user.disabled, email_verified=user.email_verified,
        )) for user in batch)
        progress(len(batch))
        after = batch[-1].username
        session.expunge_all()  # keep memory flat: the entries are all that is needed


def webhooks_exporter(master_key: Callable[[], MasterKey]) -> SectionExporter:
    """Webhooks need the master key to open their secrets (only asked for with include_secrets)."""

    def export_webhooks(session: Session, include_secrets: bool) -> list[Entry]:
        webhooks = session.scalars(select(Webhook).order_by(Webhook.url)).all()
        return [_entry(WebhookEntry(
            url=webhook.url, events=sorted(webhook.events), description=webhook.description,
            secret=master_key().decrypt(webhook.secret_sealed, f"webhook:{webhook.public_id}").decode()
            if include_secrets else None,
        )) for webhook in webhooks]

    return export_webhooks


def count_users(session: Session) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def section_exporters(master_key: Callable[[], MasterKey], progress: Progress) -> list[tuple[str, SectionExporter]]:
    """The sections of an export, in file order (the master key is read only to open a secret)."""
    return [
        ("apis", export_apis),
        ("roles", export_roles),
        ("users", lambda session, include_secrets: export_users(session, include_secrets, progress)),
        ("clients", export_clients),
        ("webhooks", webhooks_exporter(master_key)),
        ("identity_providers", lambda session, include_secrets: export_identity_providers(
            session, include_secrets=include_secrets,
            secrets=ProviderSecrets(master_key()) if include_secrets else None)),
    ]


def export_realm(
    session: Session, sections: list[tuple[str, SectionExporter]], *, include_secrets: bool
) -> dict[str, list[Entry]]:
    """The realm as a mapping of section → entries; empty sections left out."""
    realm = {name: exporter(session, include_secrets) for name, exporter in sections}
    return {name: entries for name, entries in realm.items() if entries}


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(realm: dict[str, list[Entry]]) -> str:
    header = "# authgate realm export: `authgate apply FILE` restores it.\n"
    return header + yaml.dump(realm, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                              width=120)
