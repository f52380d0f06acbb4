"""The client directory's cache: one query per client per TTL, dropped at once by an admin change in this process."""

from __future__ import annotations

from sqlalchemy import event, update

from authgate.access.clients import ClientSpec
from authgate.oauth2.client_directory import ClientDirectory
from authgate.storage.models import Client


def count_queries(database):
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def make_client(services, **fields):
    with services.realm(actor="test") as realm:
        realm.apis.create("https://api", permissions=["read", "write"])
        realm.clients.create(ClientSpec(client_id="svc", client_secret="s" * 40, grant_types=["client_credentials"],
                                        web_origins=["https://app.example"], permissions={"https://api": ["read"]}, **fields))


def test_a_client_and_its_permissions_in_one_query_then_from_cache(services):
    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=60)
    queries = count_queries(services.database)
    record = directory.get("svc")
    assert record is not None and record.permissions_for("https://api") == ("read",) and record.is_confidential
    selects = [q for q in queries if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    for _ in range(5):
        assert directory.get("svc") == record
    assert directory.get("ghost") is None and directory.get("ghost") is None
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) == 2, "unknown ids are cached too"


def test_an_admin_change_in_this_process_is_seen_at_once(services):
    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=60)
    assert directory.get("svc").disabled is False
    assert directory.origin_registered("https://app.example")
    with services.realm(actor="test") as realm:
        client = realm.clients.get("svc")
        realm.clients.update(ClientSpec(client_id="svc", client_secret="s" * 40, grant_types=["client_credentials"], disabled=True))
        assert client.disabled
    assert directory.get("svc").disabled is True
    assert not directory.origin_registered("https://app.example")


def test_a_change_elsewhere_is_seen_after_the_ttl(services):
    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=0.2)
    assert directory.get("svc").disabled is False
    with services.database.transaction() as session:  # another process: no admin event in this one
        session.execute(update(Client).where(Client.client_id == "svc").values(disabled=True))
    assert directory.get("svc").disabled is False, "served from the cache within the TTL"
    import time

    time.sleep(0.25)
    assert directory.get("svc").disabled is True
