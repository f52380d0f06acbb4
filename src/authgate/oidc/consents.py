"""Consent: which scopes a user let a third-party client have, remembered until revoked.

First-party clients (`first_party=True`) act for the operator and never ask.
A third-party client asks again whenever it requests a scope the user has not
granted it yet (OIDC Core §3.1.2.4). Revoking a consent also revokes the
client's refresh tokens for that user: access the user took back must stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from authgate import audit
from authgate.clock import aware, utcnow
from authgate.oidc.claims import SCOPE_DESCRIPTIONS
from authgate.oidc.scopes import RequestedAccess
from authgate.storage.models import Api, Client, Consent, RefreshToken, User

if TYPE_CHECKING:
    from authgate.services import Services


@dataclass(frozen=True)
class GrantedConsent:
    client_id: str
    client_name: str
    scope: tuple[str, ...]
    updated_at: datetime
    allowed: tuple[str, ...] = ()  # the scope in words, as the consent page put it


def items_of(access: RequestedAccess) -> tuple[str, ...]:
    """What a consent covers: the scope values, and the API they are for (a new API asks again)."""
    return (*access.scope, *([access.audience] if access.audience else []))


def missing(services: Services, user_id: int, client_id: str, scope: Iterable[str]) -> list[str]:
    """The requested scopes this user has not yet granted this client."""
    with services.database.reader() as session:
        granted = session.scalar(
            select(Consent.scope).where(Consent.user_id == user_id, Consent.client_id == client_id)
        )
    have = set((granted or "").split())
    return [value for value in scope if value not in have]


def grant(services: Services, user_id: int, client_id: str, scope: Iterable[str]) -> None:
    with services.database.transaction() as session:
        row = session.scalar(select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
        if row is None:
            session.add(Consent(user_id=user_id, client_id=client_id, scope=" ".join(dict.fromkeys(scope))))
        else:
            row.scope = " ".join(dict.fromkeys([*row.scope.split(), *scope]))
            row.updated_at = utcnow()


def revoke(services: Services, user_id: int, client_id: str, *, ip: str | None) -> bool:
    """Forget the consent and revoke the client's refresh tokens for the user; False if there was none."""
    with services.database.transaction() as session:
        removed = session.execute(delete(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id))
        if not removed.rowcount:  # type: ignore[attr-defined]
            return False
        session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.user_id == user_id,
                RefreshToken.client_id == client_id,
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        user = session.get(User, user_id)
        audit.record(session, audit.TOKEN_REVOKED, actor=user.username if user else None,
                     subject=user.username if user else None, client_id=client_id, ip=ip, reason="consent revoked")
        return True


def list_for(services: Services, user_id: int) -> list[GrantedConsent]:
    with services.database.reader() as session:
        rows = session.execute(
            select(Consent, Client.name).outerjoin(Client, Client.client_id == Consent.client_id)
            .where(Consent.user_id == user_id).order_by(Consent.client_id)
        ).all()
        values = {value for consent, _ in rows for value in consent.scope.split()}
        apis = {api.identifier: api for api in session.scalars(
            select(Api).where(Api.identifier.in_(values)).options(selectinload(Api.permissions)))}
        return [
            GrantedConsent(consent.client_id, name or consent.client_id, tuple(consent.scope.split()),
                           aware(consent.updated_at), in_words(consent.scope.split(), apis))
            for consent, name in rows
        ]


def in_words(items: Iterable[str], apis: dict[str, Api]) -> tuple[str, ...]:
    """A consent's items as the person was asked: OpenID scopes by meaning, permissions by their API's
    description (or "Use <API name>: <permission>"), an API granted without permissions by its name.
    A value nothing describes any more (a permission since removed) is shown as it is."""
    items = list(items)
    granted_apis = [apis[value] for value in items if value in apis]
    words: list[str] = []
    for value in items:
        if value in SCOPE_DESCRIPTIONS:
            words.append(SCOPE_DESCRIPTIONS[value])
        elif value in apis:
            if not any(p.name in items for p in apis[value].permissions):
                words.append(f"Use {apis[value].name} for you, with the access your account has there")
        else:
            words.append(next((permission.description or f"Use {api.name}: {value}"
                               for api in granted_apis for permission in api.permissions if permission.name == value),
                              value))
    return tuple(words)
