"""A real Flask app and a real FastAPI app protected by the guard, for the tests."""

from __future__ import annotations

from typing import Any

import flask
from fastapi import Depends, FastAPI

from authgate.guard import Claims
from authgate.guard.flask import FlaskGuard


def _summary(claims: Claims) -> dict[str, Any]:
    return {"sub": claims.sub, "client_id": claims.client_id, "granted": sorted(claims.granted)}


def build_flask_app(guard: FlaskGuard) -> flask.Flask:
    app = flask.Flask("guarded-flask")

    @app.get("/me")
    @guard.requires_auth()
    def me(payload: Claims) -> dict[str, Any]:
        return _summary(payload)

    @app.get("/drinks-detail")
    @guard.requires_auth("get:drinks-detail")
    def drinks_detail(payload: Claims) -> dict[str, Any]:
        """Full recipes, for baristas."""
        return _summary(payload)

    @app.get("/drinks/<int:drink_id>/all")
    @guard.requires_auth(["patch:drinks", "delete:drinks"])
    def needs_all(payload: Claims, drink_id: int) -> dict[str, Any]:
        return {**_summary(payload), "drink_id": drink_id}

    @app.get("/any")
    @guard.requires_auth(any_of=["patch:drinks", "delete:drinks"])
    def needs_any(payload: Claims) -> dict[str, Any]:
        return _summary(payload)

    return app


def build_fastapi_app(guard: FlaskGuard) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    async def me(claims: Claims = Depends(guard.fastapi())) -> dict[str, Any]:
        return _summary(claims)

    @app.get("/drinks-detail")
    async def drinks_detail(claims: Claims = Depends(guard.fastapi("get:drinks-detail"))) -> dict[str, Any]:
        return _summary(claims)

    @app.get("/drinks/{drink_id}/all")
    def needs_all(drink_id: int,
                  claims: Claims = Depends(guard.fastapi(["patch:drinks", "delete:drinks"]))) -> dict[str, Any]:
        return {**_summary(claims), "drink_id": drink_id}

    @app.get("/any")
    def needs_any(claims: Claims = Depends(guard.fastapi(any_of=["patch:drinks", "delete:drinks"]))) -> dict[str, Any]:
        return _summary(claims)

    return app
