"""Console pages for OAuth clients: list, create (the secret shown once), edit, rotate the secret, delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from authgate.access.clients import ClientSpec
from authgate.admin.clients import keep_console_client, spec_of
from authgate.admin.console.forms import checked, lines, optional, problem_of, read
from authgate.admin.console.view import Console
from authgate.admin.schemas import ClientChange, ClientCreate
from authgate.errors import DomainError
from authgate.views import ApiView, ClientView


def href(client_id: str, suffix: str = "") -> str:
    return f"/admin/clients/{quote(client_id, safe='')}{suffix}"


def client_list(console: Console) -> Response:
    with console.caller.reader() as realm:
        clients = [ClientView.of(client) for client in realm.clients.list()]
    return console.render("clients.html", {"clients": clients, "href": href})


def _fields(console: Console) -> dict[str, Any]:
    """The form's fields, as the API's request models name them. Checkboxes are `identifier permission`."""
    grants: dict[str, list[str]] = {}
    for value in console.values("grant"):
        identifier, _, permission = value.rpartition(" ")
        grants.setdefault(identifier, []).append(permission)
    return {
        "name": optional(console.value("name", 300)), "redirect_uris": lines(console.value("redirect_uris", 20000)),
        "post_logout_redirect_uris": lines(console.value("post_logout_redirect_uris", 20000)),
        "web_origins": lines(console.value("web_origins", 20000)), "grant_types": console.values("grant_types"),
        "first_party": not checked(console.value("third_party")),
        "default_audience": optional(console.value("default_audience", 500)),
        "permissions": grants, "disabled": checked(console.value("disabled")),
    }


def _form(console: Console, template: str, values: dict[str, Any], problems: dict[str, str], status: int = 200,
          **extra: Any) -> Response:
    with console.caller.reader() as realm:
        apis = [ApiView.of(api) for api in realm.apis.list()]
    return console.render(template, {"values": values, "problems": problems, "apis": apis, "href": href, **extra},
                          status=status)


def new_client(console: Console) -> Response:
    defaults = ClientSpec(client_id="")
    return _form(console, "client_form.html", {**defaults.__dict__, "client_id": ""}, {}, creating=True)


def create_client(console: Console) -> Response:
    values = {**_fields(console), "client_id": console.value("client_id", 300).strip(),
              "type": console.value("type", 20) or "confidential",
              "client_secret": optional(console.value("client_secret", 300))}
    body, problems = read(ClientCreate, values)
    if body is None:
        return _form(console, "client_form.html", values, problems, 422, creating=True)
    try:
        with console.caller.realm() as realm:
            client, secret = realm.clients.create(ClientSpec(**body.model_dump()))
            view = ClientView.of(client)
    except DomainError as error:
        return _form(console, "client_form.html", values, problem_of(error), 422, creating=True)
    # The secret is on this response only: never stored in the clear, never in a flash message.
    shown = {"client": view, "secret": secret, "created": True, "href": href}
    return console.render("client_secret.html", shown, status=201)


def client_detail(console: Console) -> Response:
    with console.caller.reader() as realm:
        view = ClientView.of(realm.clients.get(console.path("client_id")))
    return _form(console, "client_form.html", view.model_dump(), {}, creating=False, client=view)


def save_client(console: Console) -> Response:
    client_id = console.path("client_id")
    values = _fields(console)
    body, problems = read(ClientChange, values)
    with console.caller.reader() as realm:
        current = ClientView.of(realm.clients.get(client_id))
    if body is None:
        entered = {**current.model_dump(), **values}
        return _form(console, "client_form.html", entered, problems, 422, creating=False, client=current)
    try:
        with console.caller.realm() as realm:
            realm.clients.update(replace(spec_of(current), **body.model_dump(include=body.model_fields_set)))
    except DomainError as error:
        return _form(console, "client_form.html", {**current.model_dump(), **values}, problem_of(error), 422,
                     creating=False, client=current)
    return console.done(href(client_id), f"Client {client_id} saved.")


def confirm_rotate(console: Console) -> Response:
    client_id = console.path("client_id")
    return console.render("confirm.html", {
        "title": f"Rotate the secret of {client_id}?", "action": href(client_id, "/secret"), "cancel": href(client_id),
        "message": "The current secret stops working at once; whatever uses it must be given the new one.",
        "button": "Rotate secret",
    })


def rotate_secret(console: Console) -> Response:
    client_id = console.path("client_id")
    with console.caller.realm() as realm:
        secret = realm.clients.rotate_secret(client_id)
        view = ClientView.of(realm.clients.get(client_id))
    return console.render("client_secret.html", {"client": view, "secret": secret, "created": False, "href": href})


def confirm_delete(console: Console) -> Response:
    client_id = console.path("client_id")
    with console.caller.reader() as realm:
        view = ClientView.of(realm.clients.get(client_id))
    return console.render("confirm.html", {
        "title": f"Delete client {view.client_id}?",
        "action": href(view.client_id, "/delete"), "cancel": href(view.client_id),
        "message": "Its tokens stop being refreshed and it can no longer log anyone in. This cannot be undone.",
        "button": "Delete client",
    })


def delete_client(console: Console) -> Response:
    client_id = console.path("client_id")
    keep_console_client(client_id)
    with console.caller.realm() as realm:
        realm.clients.delete(client_id)
    return console.done("/admin/clients", f"Client {client_id} deleted.")
