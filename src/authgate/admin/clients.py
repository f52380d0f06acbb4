"""/clients: OAuth clients. Creating a confidential client or rotating its secret shows the secret once."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Path

from authgate.access.clients import ClientSpec
from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import CONFLICT, NOT_FOUND
from authgate.admin.schemas import ClientChange, ClientCreate, ClientCreated, ClientId, SecretIssued
from authgate.bootstrap import CONSOLE_CLIENT_ID
from authgate.errors import Conflict
from authgate.views import ClientView

router = APIRouter(prefix="/clients", tags=["clients"], route_class=AdminRoute)
READ, WRITE = requires("clients:read"), requires("clients:write")
ClientIdIn = Annotated[ClientId, Path()]


@router.get("", openapi_extra=READ, summary="List clients")
def list_clients(admin: Admin) -> list[ClientView]:
    with admin.reader() as realm:
        return [ClientView.of(client) for client in realm.clients.list()]


@router.post("", openapi_extra=WRITE, status_code=201, responses={**NOT_FOUND, **CONFLICT}, summary="Create a client")
def create_client(admin: Admin, body: ClientCreate) -> ClientCreated:
    """A confidential client without a `client_secret` gets a generated one, in this response only."""
    spec = ClientSpec(**body.model_dump())
    with admin.realm() as realm:
        client, secret = realm.clients.create(spec)
        return ClientCreated(**ClientView.of(client).model_dump(), client_secret=secret)


@router.get("/{client_id}", openapi_extra=READ, responses=NOT_FOUND, summary="Get a client")
def get_client(admin: Admin, client_id: ClientIdIn) -> ClientView:
    with admin.reader() as realm:
        return ClientView.of(realm.clients.get(client_id))


@router.patch("/{client_id}", openapi_extra=WRITE, responses=NOT_FOUND, summary="Change a client")
def change_client(admin: Admin, client_id: ClientIdIn, body: ClientChange) -> ClientView:
    """Only the fields present change; lists replace what the client had."""
    with admin.realm() as realm:
        current = ClientView.of(realm.clients.get(client_id))
        spec = replace(spec_of(current), **body.model_dump(include=body.model_fields_set))
        client, _ = realm.clients.update(spec)
        return ClientView.of(client)


@router.post("/{client_id}/secret", openapi_extra=WRITE, responses=NOT_FOUND, summary="Rotate a client's secret")
def rotate_secret(admin: Admin, client_id: ClientIdIn) -> SecretIssued:
    """A new secret, shown once; the old one stops working at once. 422 for a public client."""
    with admin.realm() as realm:
        return SecretIssued(client_id=client_id, client_secret=realm.clients.rotate_secret(client_id))


@router.delete(
    "/{client_id}", openapi_extra=WRITE, status_code=204, responses={**NOT_FOUND, **CONFLICT}, summary="Delete a client"
)
def delete_client(admin: Admin, client_id: ClientIdIn) -> None:
    keep_console_client(client_id)
    with admin.realm() as realm:
        realm.clients.delete(client_id)


def spec_of(view: ClientView) -> ClientSpec:
    """What a client is now, as a spec to change (its secret untouched)."""
    return ClientSpec(**view.model_dump(exclude={"created_at", "dynamic", "last_used_at"}))


def keep_console_client(client_id: str) -> None:
    if client_id == CONSOLE_CLIENT_ID:
        raise Conflict(f"{CONSOLE_CLIENT_ID} is the admin console's own client and cannot be deleted.")
