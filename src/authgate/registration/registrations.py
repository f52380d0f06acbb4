"""Clients that registered themselves: create, read, update, delete (RFC 7591, RFC 7592) and purge.

Every dynamically registered client is third-party (the person consents to
it) and marked `dynamic`; its registration access token (RFC 7592 §3) is
stored as a digest and is the only credential that manages it. Its
client_id is `dyn-` and 22 random characters: never shaped like a user
subject (digits or a UUID).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from authgate import tokens
from authgate.access.clients import ClientSpec
from authgate.clock import aware
from authgate.registration.errors import InvalidClientMetadata
from authgate.registration.metadata import ClientMetadata
from authgate.storage.database import Database
from authgate.storage.models import Client

if TYPE_CHECKING:
    from authgate.services import Realm

CLIENT_ID_PREFIX = "dyn-"


@dataclass(frozen=True)
class Registration:
    """A registration as RFC 7591 §3.2.1 answers it; `client_secret` and the token only when just minted."""

    client: Client
    metadata: ClientMetadata
    client_secret: str | None = None
    registration_access_token: str | None = None


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def _spec(client_id: str, metadata: ClientMetadata) -> ClientSpec:
    return ClientSpec(
        client_id=client_id, type="public" if metadata.is_public else "confidential",
        name=metadata.client_name, redirect_uris=list(metadata.redirect_uris),
        grant_types=list(metadata.grant_types), first_party=False,
    )


def register(realm: Realm, metadata: ClientMetadata) -> Registration:
    """Create the client (in the realm's transaction) and its registration access token."""
    client, secret = realm.clients.create(_spec(new_client_id(), metadata))
    token = tokens.new_opaque(32)
    client.dynamic = True
    client.registered_scope = metadata.scope
    client.registration_token_hash = tokens.digest(token)
    return Registration(client, metadata, secret, token)


def find(realm: Realm, client_id: str, registration_access_token: str) -> Client | None:
    """The dynamic client this token manages; None for an unknown client or a wrong token (RFC 7592 §2)."""
    client = realm.clients.find(client_id)
    if client is None or not client.dynamic:
        return None
    if not tokens.matches(registration_access_token, client.registration_token_hash):
        return None
    return client


def metadata_of(client: Client) -> ClientMetadata:
    return ClientMetadata(
        redirect_uris=tuple(client.redirect_uris), grant_types=tuple(client.grant_types),
        token_endpoint_auth_method="none" if client.type == "public" else "client_secret_basic",
        client_name=client.name, scope=client.registered_scope, application_type="web",
    )


def replace_metadata(realm: Realm, client: Client, metadata: ClientMetadata) -> Registration:
    """RFC 7592 §2.2: the new metadata replaces the old; a client may not turn from public to confidential."""
    spec = _spec(client.client_id, metadata)
    if spec.type != client.type:
        raise InvalidClientMetadata("token_endpoint_auth_method cannot change after registration.")
    realm.clients.update(spec)
    client.registered_scope = metadata.scope
    return Registration(client, metadata)


def delete(realm: Realm, client: Client) -> None:
    realm.clients.delete(client.client_id)


def mark_used(database: Database, client_id: str, now: datetime) -> None:
    """Record that a dynamic client was just used (what the idle purge measures from)."""
    with database.transaction() as session:
        session.execute(update(Client).where(Client.client_id == client_id, Client.dynamic.is_(True))
                        .values(last_used_at=now))


def purge_idle(realm: Realm, now: datetime, max_idle: timedelta) -> list[str]:
    """Delete dynamic clients unused (or, never used, registered) longer than `max_idle`; their ids."""
    cutoff = now - max_idle
    idle = realm.session.scalars(
        select(Client.client_id).where(
            Client.dynamic.is_(True), func.coalesce(Client.last_used_at, Client.created_at) < cutoff
        ).order_by(Client.client_id)
    ).all()
    for client_id in idle:
        realm.clients.delete(client_id)
    return list(idle)


def registered_at(client: Client) -> datetime:
    return aware(client.created_at)
