"""A user's activity as an admin sees it: browser sessions, consents, brute-force locks.

Shared by the admin API and the console. Ending a session also revokes the
refresh tokens issued under it, as RP-initiated logout does: access the
admin took away must stop, not linger until the tokens expire.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from authgate.errors import NotFound
from authgate.oidc import consents
from authgate.services import Realm, Services
from authgate.storage.models import BrowserSession
from authgate.views import BrowserSessionView, ConsentView


def browser_sessions(realm: Realm, username: str) -> list[BrowserSessionView]:
    user = realm.users.get(username)
    rows = realm.session.scalars(
        select(BrowserSession).where(BrowserSession.user_id == user.id).order_by(BrowserSession.created_at.desc())
    )
    return [BrowserSessionView.of(row) for row in rows]


def end_browser_sessions(services: Services, realm: Realm, username: str, sid: str | None = None) -> int:
    """End one session (by its public sid) or all of them; returns how many ended."""
    user = realm.users.get(username)
    statement = select(BrowserSession.sid).where(BrowserSession.user_id == user.id)
    if sid is not None:
        statement = statement.where(BrowserSession.sid == sid)
    sids = list(realm.session.scalars(statement))
    if sid is not None and not sids:
        raise NotFound("session", sid)
    for ended in sids:
        services.oauth2.refresh_tokens.revoke_for_session(realm.session, ended)
    if sids:
        realm.session.execute(delete(BrowserSession).where(BrowserSession.sid.in_(sids)))
    realm.changed("user.sessions_ended", user.username, sessions=len(sids))
    return len(sids)


def consents_of(services: Services, username: str) -> list[ConsentView]:
    with services.reader() as realm:
        user_id = realm.users.get(username).id
    return [
        ConsentView(client_id=c.client_id, client_name=c.client_name, scope=list(c.scope), updated_at=c.updated_at)
        for c in consents.list_for(services, user_id)
    ]


def revoke_consent(services: Services, actor: str, username: str, client_id: str) -> None:
    """Forget what the user granted the client, and revoke the client's refresh tokens for them.

    `consents.revoke` owns its transaction, so the admin change is audited in the next one.
    """
    with services.reader() as realm:
        user = realm.users.get(username)
    if not consents.revoke(services, user.id, client_id, ip=None):
        raise NotFound("consent", f"of {user.username} for {client_id}")
    with services.realm(actor=actor) as realm:
        realm.changed("user.consent_revoked", user.username, client_id=client_id)
