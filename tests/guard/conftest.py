"""Fixtures for the guard tests: a test-only issuer over real HTTP, keys, guarded apps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from guard_apps import build_fastapi_app, build_flask_app
from guard_testkit import AUDIENCE, DEMO_PASSWORDS

from authgate.guard import Guard
from authgate.guard.flask import FlaskGuard
from authgate.testing import TestIssuer, TestKey, new_key

# The coffee shop's API and SPA, whose tokens these tests mint.
ISSUER_DEFAULTS: dict[str, Any] = {"audience": AUDIENCE, "subject": "user-abe", "client_id": "coffee-spa"}


@dataclass(frozen=True)
class Keys:
    """TEST-ONLY keys: three published by the issuer, one ("rogue") that is not."""

    es: TestKey
    rs: TestKey
    ed: TestKey
    rogue: TestKey


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(es=new_key("ES256", "es-1"), rs=new_key("RS256", "rs-1"),
                ed=new_key("EdDSA", "ed-1"), rogue=new_key("ES256", "rogue"))


@pytest.fixture(scope="session")
def issuer(keys: Keys) -> Iterator[TestIssuer]:
    server = TestIssuer([keys.es, keys.rs, keys.ed], **ISSUER_DEFAULTS)
    yield server
    server.stop()


@pytest.fixture
def make_issuer() -> Iterator[Callable[[list[TestKey]], TestIssuer]]:
    """A private issuer per test, for tests that rotate keys or take it down."""
    started: list[TestIssuer] = []

    def make(keys: list[TestKey]) -> TestIssuer:
        started.append(TestIssuer(keys, **ISSUER_DEFAULTS))
        return started[-1]

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def make_guard(issuer: TestIssuer) -> Iterator[Callable[..., Any]]:
    """A guard (FlaskGuard unless ``kind=``) for the shared issuer or ``issuer_url``."""
    made: list[Guard] = []

    def make(issuer_url: str | None = None, kind: type[Guard] = FlaskGuard, **settings: Any) -> Any:
        settings.setdefault("required_typ", "at+jwt")
        made.append(kind(issuer=issuer_url or issuer.url, audience=AUDIENCE, **settings))
        return made[-1]

    yield make
    for guard in made:
        guard.close()


@pytest.fixture(scope="session")
def shared_guard(issuer: TestIssuer) -> Iterator[FlaskGuard]:
    guard = FlaskGuard(issuer=issuer.url, audience=AUDIENCE, required_typ="at+jwt")
    yield guard
    guard.close()


@pytest.fixture(scope="session")
def flask_client(shared_guard: FlaskGuard) -> Any:
    return build_flask_app(shared_guard).test_client()


@pytest.fixture(scope="session")
def fastapi_client(shared_guard: FlaskGuard) -> Iterator[TestClient]:
    with TestClient(build_fastapi_app(shared_guard)) as client:
        yield client


@pytest.fixture
def authgate_server(live_server: Any) -> Any:
    """A real authgate issuer (live, on a real database) holding the demo realm."""
    from authgate.provisioning import apply_realm, load_realm_file

    realm_file = Path(__file__).resolve().parents[2] / "src/authgate/demo/realm.yaml"
    with live_server.services.realm(actor="test") as realm:
        apply_realm(realm, load_realm_file(realm_file))
        for username, password in DEMO_PASSWORDS.items():
            realm.users.set_password(username, password)
    return live_server


@pytest.fixture(params=["flask", "fastapi"])
def client(request: pytest.FixtureRequest) -> Any:
    """The same protected routes, served by Flask and by FastAPI."""
    return request.getfixturevalue(f"{request.param}_client")
