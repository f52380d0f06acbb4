"""/users/{username}/sessions, /consents, /unlock: what a user is logged into and has granted, and their lock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from authgate.accounts.login import unlock_account
from authgate.admin import activity
from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.admin.errors import NOT_FOUND
from authgate.admin.schemas import ClientId, SessionId
from authgate.admin.users import UsernameIn
from authgate.views import BrowserSessionView, ConsentView

router = APIRouter(prefix="/users/{username}", tags=["users"], route_class=AdminRoute)
READ, WRITE = requires("users:read"), requires("users:write")


@router.get("/sessions", openapi_extra=READ, responses=NOT_FOUND, summary="List a user's browser sessions")
def list_sessions(admin: Admin, username: UsernameIn) -> list[BrowserSessionView]:
    with admin.reader() as realm:
        return activity.browser_sessions(realm, username)


@router.delete(
    "/sessions", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="End all of a user's sessions"
)
def end_sessions(admin: Admin, username: UsernameIn) -> None:
    """Logs the user out everywhere and revokes the refresh tokens issued under those sessions."""
    with admin.realm() as realm:
        activity.end_browser_sessions(admin.services, realm, username)


@router.delete("/sessions/{sid}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="End one session")
def end_session(admin: Admin, username: UsernameIn, sid: Annotated[SessionId, Path()]) -> None:
    with admin.realm() as realm:
        activity.end_browser_sessions(admin.services, realm, username, sid)


@router.get("/consents", openapi_extra=READ, responses=NOT_FOUND, summary="List a user's consents")
def list_consents(admin: Admin, username: UsernameIn) -> list[ConsentView]:
    return activity.consents_of(admin.services, username)


@router.delete(
    "/consents/{client_id}", openapi_extra=WRITE, status_code=204, responses=NOT_FOUND, summary="Revoke a consent"
)
def revoke_consent(admin: Admin, username: UsernameIn, client_id: Annotated[ClientId, Path()]) -> None:
    """The client must ask again, and its refresh tokens for this user stop working."""
    activity.revoke_consent(admin.services, admin.actor, username, client_id)


class Unlocked(BaseModel):
    username: str
    cleared: int = Field(description="Failure counters and locks cleared (0 when there were none).")


@router.post("/unlock", openapi_extra=WRITE, responses=NOT_FOUND, summary="Lift a user's brute-force lock")
def unlock(admin: Admin, username: UsernameIn) -> Unlocked:
    """Clears the failed-login counters and locks of the account, from every address (audited)."""
    with admin.reader() as realm:
        name = realm.users.get(username).username
    return Unlocked(username=name, cleared=unlock_account(admin.services, name, actor=admin.actor))
