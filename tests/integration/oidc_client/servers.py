"""A live authgate with the test world loaded, shared by the tests of one module (one per backend).

Starting a server (schema, signing keys, uvicorn, users' argon2 hashes) costs
about a second; the error-path tables make dozens of requests each, so they
share one server per module and backend. Each test still gets its own
cookie jar (`BrowserLike`), so no test sees another's login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oidc_client.flow import build_world

import testkit
from authgate import bootstrap
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app


def serve_world(request: pytest.FixtureRequest, tmp: Path, **overrides: Any) -> Iterator[Any]:

    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'authgate.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        testkit.empty_postgres(url)
    port = testkit.free_port()
    settings = Settings(data_dir=tmp / "data", master_key=testkit.TEST_MASTER_KEY,
                        issuer=f"http://127.0.0.1:{port}", database_url=url, **overrides)
    services = Services(settings)
    bootstrap.prepare(services)
    build_world(services)
    server = testkit.LiveServer(create_app(services=services), port)
    server.services = services  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()
    services.database.dispose()
