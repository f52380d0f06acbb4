"""`authgate backup`: a consistent copy while writes go on; the restored database serves what it held
(users sign in, tokens signed before the backup verify with the restored keys)."""

from __future__ import annotations

import shutil
import subprocess
import threading

import jwt
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from authgate.services import Services
from authgate.storage.backup import BackupFailed, backup
from authgate.storage.models import User
from authgate.web.app import create_app
from testkit import empty_postgres

PASSWORD = "test-fixture backup passphrase 4"
REALM = f"""
apis:
  - identifier: https://coffee.example/api
    permissions: [get:drinks]
roles:
  - name: barista
    permissions: {{https://coffee.example/api: [get:drinks]}}
users:
  - username: abe
    password: "{PASSWORD}"
    roles: [barista]
clients:
  - client_id: coffee-app
    type: public
    grant_types: [password]
    default_audience: https://coffee.example/api
"""


def password_token(services: Services) -> str:
    with TestClient(create_app(services=services)) as client:
        response = client.post("/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                                     "username": "abe", "password": PASSWORD})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def verifies_with_published_keys(services: Services, token: str) -> bool:
    """The token's signature checks out against the keys the (restored) server publishes."""
    with TestClient(create_app(services=services)) as client:
        keys = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in keys.keys if key.key_id == kid)
    jwt.decode(token, key=key, algorithms=[key.algorithm_name], audience="https://coffee.example/api")
    return True


def count_users(services: Services) -> int:
    with services.database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_a_backup_taken_under_writes_restores_a_working_server(backend, services, load_realm, make_settings,
                                                               database_url, tmp_path):
    if backend == "postgresql" and shutil.which("pg_restore") is None:
        pytest.fail(
            "pg_dump and pg_restore are needed for the PostgreSQL backup test (apt-get install postgresql-client)"
        )
    load_realm(REALM)
    token = password_token(services)
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:  # another process keeps creating users while the backup runs
        while not stop.is_set():
            with services.realm(actor="writer") as realm:
                realm.users.create(f"user{len(written)}")
            written.append(1)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        copy = tmp_path / ("backup.db" if backend == "sqlite" else "backup.dump")
        backup(database_url, copy)
    finally:
        stop.set()
        writer.join()
    in_source = count_users(services)

    if backend == "sqlite":
        restored_url = f"sqlite:///{tmp_path / 'restored.db'}"
        shutil.copyfile(copy, tmp_path / "restored.db")  # the documented restore: the file, server stopped
    else:
        services.database.dispose()
        empty_postgres(database_url)
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname",
                        database_url.replace("+psycopg", ""), str(copy)], check=True, capture_output=True)
        restored_url = database_url
    restored = Services(make_settings(database_url=restored_url))
    try:
        users = count_users(restored)
        assert 6 <= users <= in_source, "a consistent snapshot: abe and the users written before it"
        assert verifies_with_published_keys(restored, token), (
            "a token signed before the backup verifies with the restored key"
        )
        password_token(restored)  # abe signs in
    finally:
        restored.database.dispose()


def test_a_backup_that_cannot_be_written_says_why(backend, services, database_url, tmp_path):
    if backend == "postgresql" and shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed for the PostgreSQL backup test (apt-get install postgresql-client)")
    with pytest.raises(BackupFailed, match="cannot write"):
        backup(database_url, tmp_path / "missing" / "dir" / "backup")
    assert not (tmp_path / "missing").exists()
