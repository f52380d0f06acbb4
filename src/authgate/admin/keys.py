"""/keys: the signing keys, and rotating them."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from authgate.admin.auth import Admin, AdminRoute, requires
from authgate.views import SigningKeyView

router = APIRouter(prefix="/keys", tags=["keys"], route_class=AdminRoute)


class Rotation(BaseModel):
    kids: list[str] = Field(description="The new signing keys; the old ones stay published until their tokens expire.")


@router.get("", openapi_extra=requires("keys:read"), summary="List signing keys")
def list_keys(admin: Admin) -> list[SigningKeyView]:
    return [SigningKeyView.of(key) for key in admin.services.keys.list()]


@router.post("/rotate", openapi_extra=requires("keys:write"), summary="Rotate the signing keys")
def rotate_keys(admin: Admin) -> Rotation:
    """New keys sign from now on; retired ones stay in the JWKS for the overlap window."""
    return Rotation(kids=admin.services.keys.rotate(actor=admin.actor))
