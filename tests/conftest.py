"""Fixtures that build the world: settings, services on SQLite or PostgreSQL, a live HTTP server.

Storage-backed tests take `backend` and run on both databases. PostgreSQL gets
a fresh database per test run (and per xdist worker), dropped at the end;
tables are emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage import migrate
from authgate.storage.database import Database
from testkit import TEST_MASTER_KEY, LiveServer, empty_postgres, free_port

PG_ADMIN_URL = os.environ.get("AUTHGATE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated once."""
    name = f"authgate_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per run (and xdist worker); each test gets a copy, as each PostgreSQL
    test gets the run's migrated database emptied. Tests of migrations themselves use their own blank one."""
    path = tmp_path_factory.mktemp("sqlite-template") / "authgate.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        copy = tmp_path / "authgate.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        return f"sqlite:///{copy}"
    url: str = request.getfixturevalue("pg_database")
    empty_postgres(url)
    return url


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "master_key": TEST_MASTER_KEY,
            "issuer": "http://127.0.0.1:8000",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    services = Services(settings)
    bootstrap.prepare(services)
    yield services
    services.database.dispose()


@pytest.fixture
def load_realm(services: Services) -> Callable[[str], None]:
    """Build the world from the same realm-file format users write."""

    def load(yaml_text: str) -> None:
        with services.realm(actor="test") as realm:
            apply_realm(realm, parse_realm(yaml_text))

    return load


@pytest.fixture
def live_server(make_settings: Callable[..., Settings], database_url: str) -> Iterator[LiveServer]:
    """A running server whose issuer is its own URL; `.services` is the same Services the app uses."""
    from authgate.web.app import create_app

    port = free_port()
    settings = make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{port}")
    services = Services(settings)
    bootstrap.prepare(services)
    server = LiveServer(create_app(services=services), port)
    server.services = services  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()
    services.database.dispose()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` keeps a module's tests on one worker only while xdist can mark their node ids
    (`name@group`); pytest 9 stopped reading what xdist 3.8 writes, and every group was silently split
    (each module-scoped server started on both workers). Refuse to run rather than lose that quietly."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under --dist loadgroup
        return
    split = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if split:
        raise pytest.UsageError(f"xdist groups are not applied (pytest {pytest.__version__}): {split[0]} …")
