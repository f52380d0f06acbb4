"""The coffee shop API: drinks, protected by authgate's guard.

Baristas may read full recipes; managers may also create, edit and delete
drinks. Tokens come from authgate (or any OIDC issuer) and carry a
``permissions`` claim for the audience below.

    python examples/coffee_shop/api.py        # serves on http://127.0.0.1:5001 (COFFEE_PORT)

Environment:
    COFFEE_ISSUER        issuer URL            (default http://127.0.0.1:8000)
    COFFEE_AUDIENCE      this API's identifier (default https://coffee.example/api)
    COFFEE_CORS_ORIGINS  comma-separated frontend origins allowed to call the API
                         (default http://127.0.0.1:5000,http://localhost:5000)
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, abort, jsonify, request

from authgate.guard import Claims
from authgate.guard.flask import FlaskGuard

DEFAULT_ISSUER = "http://127.0.0.1:8000"
DEFAULT_AUDIENCE = "https://coffee.example/api"
DEFAULT_ORIGINS = "http://127.0.0.1:5000,http://localhost:5000"


@dataclass
class Drink:
    id: int
    title: str
    recipe: list[dict[str, Any]]

    def short(self) -> dict[str, Any]:
        """What anyone may see: colours and proportions, no ingredient names."""
        return {"id": self.id, "title": self.title,
                "recipe": [{"color": p["color"], "parts": p["parts"]} for p in self.recipe]}

    def long(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "recipe": self.recipe}


@dataclass
class DrinkStore:
    """An in-memory store; titles are unique."""

    drinks: dict[int, Drink] = field(default_factory=dict)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, title: str, recipe: list[dict[str, Any]]) -> Drink:
        with self.lock:
            if any(drink.title == title for drink in self.drinks.values()):
                abort(409, description="a drink with this title exists")
            drink = Drink(self.next_id, title, recipe)
            self.drinks[drink.id] = drink
            self.next_id += 1
            return drink

    def get(self, drink_id: int) -> Drink:
        drink = self.drinks.get(drink_id)
        if drink is None:
            abort(404, description="drink not found")
        return drink


def _valid_recipe(value: Any) -> list[dict[str, Any]]:
    parts = value if isinstance(value, list) else [value]
    for part in parts:
        if not (isinstance(part, dict) and isinstance(part.get("name"), str)
                and isinstance(part.get("color"), str)
                and isinstance(part.get("parts"), int) and part["parts"] > 0):
            abort(422, description="recipe parts need name, color and a positive integer parts")
    return [{"color": p["color"], "name": p["name"], "parts": p["parts"]} for p in parts]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="expected a JSON object")
    return body


def create_app(guard: FlaskGuard | None = None, store: DrinkStore | None = None,
               cors_origins: list[str] | None = None) -> Flask:
    """Build the API; the arguments default to the environment (see module doc)."""
    app = Flask(__name__)
    if guard is None:
        guard = FlaskGuard(
            issuer=os.environ.get("COFFEE_ISSUER", DEFAULT_ISSUER),
            audience=os.environ.get("COFFEE_AUDIENCE", DEFAULT_AUDIENCE),
            required_typ="at+jwt",  # authgate issues RFC 9068 access tokens
        )
    guard.init_app(app)
    if store is None:
        store = DrinkStore()
        store.add("water", [{"color": "blue", "name": "water", "parts": 1}])
    if cors_origins is None:
        configured = os.environ.get("COFFEE_CORS_ORIGINS", DEFAULT_ORIGINS)
        cors_origins = [origin.strip() for origin in configured.split(",") if origin.strip()]

    @app.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin in cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
            response.headers["Vary"] = "Origin"
        return response

    @app.get("/drinks")
    def list_drinks() -> Any:
        return jsonify(success=True, drinks=[d.short() for d in store.drinks.values()])

    @app.get("/drinks-detail")
    @guard.requires_auth("get:drinks-detail")
    def list_drinks_detail(payload: Claims) -> Any:
        return jsonify(success=True, drinks=[d.long() for d in store.drinks.values()])

    @app.post("/drinks")
    @guard.requires_auth("post:drinks")
    def create_drink(payload: Claims) -> Any:
        body = _body()
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            abort(422, description="title is required")
        drink = store.add(title.strip(), _valid_recipe(body.get("recipe")))
        return jsonify(success=True, drinks=[drink.long()])

    @app.patch("/drinks/<int:drink_id>")
    @guard.requires_auth("patch:drinks")
    def update_drink(payload: Claims, drink_id: int) -> Any:
        drink, body = store.get(drink_id), _body()
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                abort(422, description="title must be a non-empty string")
            drink.title = body["title"].strip()
        if "recipe" in body:
            drink.recipe = _valid_recipe(body["recipe"])
        return jsonify(success=True, drinks=[drink.long()])

    @app.delete("/drinks/<int:drink_id>")
    @guard.requires_auth("delete:drinks")
    def delete_drink(payload: Claims, drink_id: int) -> Any:
        with store.lock:
            store.get(drink_id)
            del store.drinks[drink_id]
        return jsonify(success=True, delete=drink_id)

    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(409)
    @app.errorhandler(422)
    def api_error(error: Any) -> Any:
        return jsonify(success=False, error=error.code, message=error.description), error.code

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("COFFEE_PORT", "5001")))
