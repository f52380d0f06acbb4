"""Console pages for identity providers: the list (with any problem found), one provider's settings and
redirect URI, checking it now, disabling or enabling it, deleting it.

Creating and editing go through the realm file or the admin API, whose rules are the same
(`federation.providers.build_spec`); every action here is a CSRF-checked POST like every console form.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from authgate.admin.console.view import Console
from authgate.admin.identity_providers import IdentityProviderView


def href(alias: str, suffix: str = "") -> str:
    return f"/admin/identity-providers/{quote(alias, safe='')}{suffix}"


def _view(console: Console, alias: str) -> IdentityProviderView:
    federation = console.services.federation
    with console.caller.reader() as realm:
        row = federation.providers(realm).get(alias)
        return IdentityProviderView.of(row, federation.redirect_uri(row.alias))


def provider_list(console: Console) -> Response:
    federation = console.services.federation
    with console.caller.reader() as realm:
        providers = [IdentityProviderView.of(row, federation.redirect_uri(row.alias))
                     for row in federation.providers(realm).list()]
    return console.render("identity_providers.html", {"providers": providers, "href": href})


def provider_detail(console: Console) -> Response:
    return console.render("identity_provider.html", {"provider": _view(console, console.path("alias")), "href": href})


def check_provider(console: Console) -> Response:
    alias = _view(console, console.path("alias")).alias  # 404 for an unknown one
    problem = console.services.federation.check_and_mark([alias]).get(alias)
    if problem:
        return console.done(href(alias), f"{alias}: {problem}", kind="error")
    return console.done(href(alias), f"{alias} answered: its discovery document was fetched.")


def toggle_provider(console: Console) -> Response:
    alias = console.path("alias")
    disable = console.value("disabled", 10) == "true"
    with console.caller.realm() as realm:
        console.services.federation.providers(realm).set_disabled(alias, disable)
    return console.done(href(alias), f"{alias} {'disabled' if disable else 'enabled'}.")


def confirm_delete(console: Console) -> Response:
    alias = _view(console, console.path("alias")).alias
    return console.render("confirm.html", {
        "title": f"Delete identity provider {alias}?", "action": href(alias, "/delete"), "cancel": href(alias),
        "message": "People can no longer sign in with it; their links to it are removed (their accounts stay).",
        "button": "Delete identity provider",
    })


def delete_provider(console: Console) -> Response:
    alias = console.path("alias")
    with console.caller.realm() as realm:
        console.services.federation.providers(realm).delete(alias)
    return console.done("/admin/identity-providers", f"Identity provider {alias} deleted.")
