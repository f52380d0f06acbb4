"""An administrator's view of a user's second factors: list them, remove one.

Removing a factor is an account-recovery act (a lost phone) or a response to
a compromise, so it also ends every session of the user (hosted pages and
console) and revokes their refresh tokens: whoever held a session made with
the removed factor must sign in again. Audited twice: the admin change
(`user.factor_removed`) and `factor.removed` naming the admin as actor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, update

from authgate import audit
from authgate.accounts import factors
from authgate.accounts.factors import Factor
from authgate.clock import utcnow
from authgate.storage.models import BrowserSession, ConsoleSession, RefreshToken

if TYPE_CHECKING:
    from authgate.services import Realm


def factors_of_user(realm: Realm, username: str) -> list[Factor]:
    """Raises NotFound for an unknown user."""
    return factors.factors_of(realm.session, realm.users.get(username).id)


def remove_factor(realm: Realm, username: str, kind: str, factor_id: str) -> Factor:
    """Remove it, end the user's sessions and revoke their refresh tokens. Raises NotFound."""
    user = realm.users.get(username)
    removed = factors.remove(realm.session, user.id, kind, factor_id)
    realm.session.execute(delete(BrowserSession).where(BrowserSession.user_id == user.id))
    realm.session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    revoked = realm.session.execute(
        update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    realm.changed("user.factor_removed", user.username, kind=removed.kind, factor=removed.name)
    audit.record(realm.session, audit.FACTOR_REMOVED, actor=realm.actor, subject=user.username, kind=removed.kind,
                 refresh_tokens_revoked=revoked)
    return removed
