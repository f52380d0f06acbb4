"""Console pages for users: search and page through them, create, edit, roles, password, disable, delete."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from starlette.responses import Response

from authgate.accounts import factor_admin
from authgate.accounts.email_verification import EmailVerification
from authgate.accounts.login import unlock_account
from authgate.admin import activity
from authgate.admin.console.forms import checked, optional, problem_of, read
from authgate.admin.console.view import Console
from authgate.admin.pagination import LAST_PAGE, users_page
from authgate.admin.schemas import PasswordSet, RoleList, UserChange, UserCreate
from authgate.errors import DomainError
from authgate.views import FactorView, RoleView, UserView

PAGE_SIZE = 25


def href(username: str, suffix: str = "") -> str:
    return f"/admin/users/{quote(username, safe='')}{suffix}"


def user_list(console: Console) -> Response:
    """Keyset pages by username ("next" follows the last one), or a page number that seeks through the index."""
    search = console.value("q", 320).strip()
    after = console.value("after", 150) or None
    number = console.number("page", LAST_PAGE)
    with console.caller.reader() as realm:
        if number:
            users = users_page(realm, console.caller.services.user_page_anchors, number, size=PAGE_SIZE,
                               prefix=search or None)
        else:
            users = realm.users.list(prefix=search or None, after=after, limit=PAGE_SIZE)
        views = [UserView.of(user) for user in users]
    following = None
    if len(views) == PAGE_SIZE:
        following = "?" + urlencode({k: v for k, v in {"q": search, "after": views[-1].username}.items() if v})
    return console.render("users.html", {"users": views, "q": search, "next_href": following,
                                         "paged": bool(after or number), "href": href})


def new_user(console: Console) -> Response:
    return _user_form(console, {}, {"roles": []})


def create_user(console: Console) -> Response:
    values = {
        "username": console.value("username", 200).strip(), "email": optional(console.value("email", 400)),
        "name": optional(console.value("name", 300)), "password": optional(console.value("password", 1100)),
        "roles": console.values("roles"), "disabled": checked(console.value("disabled")),
    }
    body, problems = read(UserCreate, values)
    if body is None:
        return _user_form(console, problems, values, status=422)
    try:
        with console.caller.realm() as realm:
            user = realm.users.create(body.username, email=body.email, name=body.name, password=body.password,
                                      roles=body.roles, disabled=body.disabled)
            if user.email is not None:
                EmailVerification(console.services).send(realm.session, user, actor=console.caller.actor)
            name = user.username
    except DomainError as error:
        return _user_form(console, problem_of(error), values, status=422)
    return console.done(href(name), f"User {name} created.")


def _user_form(
    console: Console, problems: dict[str, str], values: Mapping[str, object], *, status: int = 200
) -> Response:
    with console.caller.reader() as realm:
        roles = [RoleView.of(role) for role in realm.roles.list()]
    return console.render("user_new.html", {"problems": problems, "values": values, "roles": roles}, status=status)


def user_detail(console: Console, problems: dict[str, str] | None = None, status: int = 200) -> Response:
    username = console.path("username")
    with console.caller.reader() as realm:
        user = UserView.of(realm.users.get(username))
        roles = [RoleView.of(role) for role in realm.roles.list()]
        sessions = activity.browser_sessions(realm, username)
        factors = [FactorView.of(factor) for factor in factor_admin.factors_of_user(realm, username)]
    consents = activity.consents_of(console.services, username)
    return console.render("user.html", {
        "user": user, "roles": roles, "sessions": sessions, "consents": consents, "problems": problems or {},
        "factors": factors,
        "href": href, "yourself": console.caller.actor == f"user:{user.username}",
    }, status=status)


def save_profile(console: Console) -> Response:
    username = console.path("username")
    body, problems = read(UserChange, {"email": optional(console.value("email", 400)),
                                       "name": optional(console.value("name", 300)),
                                       "email_verified": checked(console.value("email_verified"))})
    if body is None:
        return user_detail(console, problems, 422)
    try:
        with console.caller.realm() as realm:
            realm.users.update(username, email=body.email, name=body.name, email_verified=body.email_verified)
    except DomainError as error:
        return user_detail(console, problem_of(error), 422)
    return console.done(href(username), "Profile saved.")


def save_roles(console: Console) -> Response:
    username = console.path("username")
    body, problems = read(RoleList, {"roles": console.values("roles")})
    if body is None:
        return user_detail(console, problems, 422)
    with console.caller.realm() as realm:
        realm.users.set_roles(username, body.roles)
    return console.done(href(username), "Roles saved.")


def set_password(console: Console) -> Response:
    username = console.path("username")
    body, problems = read(PasswordSet, {"password": console.value("password", 1100)})
    try:
        if body is None:
            return user_detail(console, problems, 422)
        with console.caller.realm() as realm:
            realm.users.set_password(username, body.password)
    except DomainError as error:
        return user_detail(console, problem_of(error), 422)
    return console.done(href(username), "Password set.")


def set_disabled(console: Console) -> Response:
    username = console.path("username")
    disable = console.request.url.path.endswith("/disable")
    with console.caller.realm() as realm:
        if disable:
            console.caller.must_not_be(realm.users.get(username).username, "disable")
        realm.users.update(username, disabled=disable)
    return console.done(href(username), f"User {username} {'disabled' if disable else 'enabled'}.")


def end_sessions(console: Console) -> Response:
    username = console.path("username")
    with console.caller.realm() as realm:
        ended = activity.end_browser_sessions(console.services, realm, username, console.value("sid", 64) or None)
    return console.done(href(username), f"{ended} session{'s' if ended != 1 else ''} ended.")


def remove_factor(console: Console) -> Response:
    """Ends the user's sessions and revokes their refresh tokens too (accounts/factor_admin.py)."""
    username = console.path("username")
    with console.caller.realm() as realm:
        removed = factor_admin.remove_factor(realm, username, console.value("kind", 40), console.value("id", 400))
    return console.done(href(username), f"{removed.name} removed; the user's sessions were ended.")


def revoke_consent(console: Console) -> Response:
    username = console.path("username")
    client_id = console.value("client_id", 200)
    activity.revoke_consent(console.services, console.caller.actor, username, client_id)
    return console.done(href(username), f"Consent for {client_id} revoked.")


def unlock(console: Console) -> Response:
    username = console.path("username")
    with console.caller.reader() as realm:
        name = realm.users.get(username).username
    cleared = unlock_account(console.services, name, actor=console.caller.actor)
    return console.done(href(name), f"Lock lifted ({cleared} counter{'s' if cleared != 1 else ''} cleared).")


def confirm_delete(console: Console) -> Response:
    username = console.path("username")
    with console.caller.reader() as realm:
        user = UserView.of(realm.users.get(username))
    return console.render("confirm.html", {
        "title": f"Delete user {user.username}?",
        "action": href(user.username, "/delete"), "cancel": href(user.username),
        "message": "Their sessions, consents and refresh tokens go with them. This cannot be undone.",
        "button": "Delete user",
    })


def delete_user(console: Console) -> Response:
    username = console.path("username")
    with console.caller.realm() as realm:
        console.caller.must_not_be(realm.users.get(username).username, "delete")
        realm.users.delete(username)
    return console.done("/admin/users", f"User {username} deleted.")
