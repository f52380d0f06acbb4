"""authgate client registration-token and purge-dynamic, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update
from test_cli import authgate  # noqa: F401 (a fixture)

from authgate.clock import utcnow
from authgate.registration import initial_tokens
from authgate.settings import Settings
from authgate.storage.database import Database
from authgate.storage.models import Client
from testkit import TEST_MASTER_KEY


def test_registration_token_is_accepted_by_the_registration_policy(authgate, database_url, tmp_path):
    result = authgate("client", "registration-token", "--lifetime", "600", "--json")
    token = json.loads(result.stdout)["initial_access_token"]
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", master_key=TEST_MASTER_KEY)
    assert initial_tokens.is_valid(settings, token, utcnow())
    assert not initial_tokens.is_valid(settings, token, utcnow() + timedelta(seconds=601))
    assert not initial_tokens.is_valid(settings, token[:-2] + "00", utcnow())
    assert authgate("client", "registration-token", "--lifetime", "5", check=False).returncode != 0


def test_purge_dynamic_removes_only_idle_dynamic_clients(authgate, database_url):
    authgate("init")
    authgate("client", "add", "static-app", "--type", "public", "--redirect-uri", "https://app.example/cb")
    authgate("client", "add", "dyn-idle", "--type", "public", "--redirect-uri", "https://app.example/cb")
    authgate("client", "add", "dyn-fresh", "--type", "public", "--redirect-uri", "https://app.example/cb")
    database = Database(database_url)
    long_ago = utcnow() - timedelta(days=400)
    with database.transaction() as session:
        session.execute(update(Client).where(Client.client_id.in_(["dyn-idle", "dyn-fresh", "static-app"]))
                        .values(created_at=long_ago))
        session.execute(update(Client).where(Client.client_id.in_(["dyn-idle", "dyn-fresh"])).values(dynamic=True))
        session.execute(update(Client).where(Client.client_id == "dyn-fresh").values(last_used_at=utcnow()))
    database.dispose()
    assert json.loads(authgate("client", "purge-dynamic", "--json").stdout) == {"removed": ["dyn-idle"]}
    listed = {view["client_id"]: view for view in json.loads(authgate("client", "list", "--json").stdout)}
    assert "dyn-idle" not in listed and {"static-app", "dyn-fresh"} <= set(listed)
    assert listed["dyn-fresh"]["dynamic"] is True and listed["dyn-fresh"]["last_used_at"]
    assert listed["static-app"]["dynamic"] is False
