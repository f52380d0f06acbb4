"""The web admin console at /admin: server-rendered pages over the same service layer as the admin API.

An operator logs in through the hosted login like any client's user (the
console is the OAuth client `authgate-console`); every page then acts as
that admin, with the permissions in their access token. Pages work without
JavaScript; every form is CSRF-protected; destructive actions ask first.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from authgate.admin.console import (
    apis,
    clients,
    identity_providers,
    login,
    mail,
    roles,
    system,
    users,
    webhooks,
)
from authgate.admin.console.view import SECTIONS, Console, Handler, view
from authgate.http.rendering import redirect


def home(console: Console) -> Response:
    """The first section this admin may see."""
    allowed = [href for _, href, needs in SECTIONS if console.can(needs)]
    return redirect(allowed[0] if allowed else "/admin/users")


def _pages(path: str, permission: str, get: Handler | None = None, post: Handler | None = None) -> list[BaseRoute]:
    """GET needs `permission`; POST changes something, so it needs the matching `:write` one."""
    found: list[BaseRoute] = []
    if get is not None:
        found.append(Route(path, view(permission, get), methods=["GET"]))
    if post is not None:
        found.append(Route(path, view(permission.replace(":read", ":write"), post), methods=["POST"]))
    return found


U, R, A, C = "users:read", "roles:read", "apis:read", "clients:read"

routes: list[BaseRoute] = [
    Route("/admin", view(None, home), methods=["GET"]),
    Route("/admin/login", login.login, methods=["GET"]),
    Route("/admin/callback", login.callback, methods=["GET"]),
    Route("/admin/logout", login.logout, methods=["POST"]),
    Route("/admin/signed-out", login.signed_out, methods=["GET"]),
    *_pages("/admin/users", U, users.user_list),
    *_pages("/admin/users/new", "users:write", users.new_user, users.create_user),
    *_pages("/admin/users/{username}", U, users.user_detail, users.save_profile),
    *_pages("/admin/users/{username}/roles", U, post=users.save_roles),
    *_pages("/admin/users/{username}/password", U, post=users.set_password),
    *_pages("/admin/users/{username}/disable", U, post=users.set_disabled),
    *_pages("/admin/users/{username}/enable", U, post=users.set_disabled),
    *_pages("/admin/users/{username}/unlock", U, post=users.unlock),
    *_pages("/admin/users/{username}/sessions/end", U, post=users.end_sessions),
    *_pages("/admin/users/{username}/consents/revoke", U, post=users.revoke_consent),
    *_pages("/admin/users/{username}/factors/remove", U, post=users.remove_factor),
    *_pages("/admin/users/{username}/delete", "users:write", users.confirm_delete, users.delete_user),
    *_pages("/admin/users/{username}/send-reset", U, post=mail.send_reset),
    *_pages("/admin/users/{username}/send-verification", U, post=mail.send_verification),
    *_pages("/admin/mail", U, mail.mail_page),
    *_pages("/admin/invitations", U, post=mail.invite),
    *_pages("/admin/invitations/{username}/resend", U, post=mail.resend_invitation),
    *_pages("/admin/invitations/{username}/revoke", U, post=mail.revoke_invitation),
    *_pages("/admin/roles", R, roles.role_list, roles.create_role),
    *_pages("/admin/roles/{name}", R, roles.role_detail, roles.save_role),
    *_pages("/admin/roles/{name}/delete", "roles:write", roles.confirm_delete, roles.delete_role),
    *_pages("/admin/apis", A, apis.api_list, apis.create_api),
    *_pages("/admin/apis/view", A, apis.api_detail, apis.rename_api),
    *_pages("/admin/apis/permissions/add", A, post=apis.add_permission),
    *_pages("/admin/apis/permissions/remove", A, post=apis.remove_permission),
    *_pages("/admin/apis/delete", "apis:write", apis.confirm_delete, apis.delete_api),
    *_pages("/admin/clients", C, clients.client_list),
    *_pages("/admin/clients/new", "clients:write", clients.new_client, clients.create_client),
    *_pages("/admin/clients/{client_id}", C, clients.client_detail, clients.save_client),
    *_pages("/admin/clients/{client_id}/secret", "clients:write", clients.confirm_rotate, clients.rotate_secret),
    *_pages("/admin/clients/{client_id}/delete", "clients:write", clients.confirm_delete, clients.delete_client),
    *_pages("/admin/webhooks", "webhooks:read", webhooks.webhook_list),
    *_pages("/admin/webhooks/new", "webhooks:write", webhooks.new_webhook, webhooks.create_webhook),
    *_pages("/admin/webhooks/{webhook_id}", "webhooks:read", webhooks.webhook_detail),
    *_pages("/admin/webhooks/{webhook_id}/redeliver", "webhooks:read", post=webhooks.redeliver),
    *_pages("/admin/webhooks/{webhook_id}/delete", "webhooks:write", webhooks.confirm_delete, webhooks.delete_webhook),
    *_pages("/admin/identity-providers", C, identity_providers.provider_list),
    *_pages("/admin/identity-providers/{alias}", C, identity_providers.provider_detail),
    *_pages("/admin/identity-providers/{alias}/check", "clients:write", post=identity_providers.check_provider),
    *_pages("/admin/identity-providers/{alias}/status", "clients:write", post=identity_providers.toggle_provider),
    *_pages("/admin/identity-providers/{alias}/delete", "clients:write", identity_providers.confirm_delete,
            identity_providers.delete_provider),
    *_pages("/admin/keys", "keys:read", system.key_list),
    *_pages("/admin/keys/rotate", "keys:write", system.confirm_rotate, system.rotate),
    *_pages("/admin/audit", "audit:read", system.audit_log),
]
