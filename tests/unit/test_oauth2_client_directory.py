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


def test_concurrent_cold_lookups_share_one_load(services):
    """No herd: threads that miss at once wait for one query and share its record."""
    import threading

    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=60)
    loads: list[str] = []
    original = directory._load
    gate = threading.Event()

    def slow_load(client_id: str):
        loads.append(client_id)
        gate.wait(2)  # keep the first load in flight while the others arrive
        return original(client_id)

    directory._load = slow_load  # type: ignore[method-assign]
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(directory.get("svc"))) for _ in range(12)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert loads == ["svc"]
    assert len(results) == 12 and all(r is results[0] for r in results) and results[0] is not None


def test_warm_reloads_entries_in_use_before_they_expire(services):
    """The warmer keeps a client that is being asked for warm past its TTL; a forgotten one expires."""
    import time

    make_client(services)
    with services.realm(actor="test") as realm:
        realm.clients.create(ClientSpec(client_id="idle", client_secret="i" * 40, grant_types=["client_credentials"]))
    directory = ClientDirectory(services.database, ttl_seconds=0.4)
    directory.get("svc"), directory.get("idle"), directory.known_audiences()
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:  # "svc" in use, warmed every tick; "idle" never asked for again
        assert directory.is_warm("svc"), "a client in use must never go cold"
        directory.warm()
        time.sleep(0.05)
    assert not directory.is_warm("idle", audiences=False)
    with services.database.transaction() as session:  # a change by another process
        session.execute(update(Client).where(Client.client_id == "svc").values(disabled=True))
    time.sleep(0.25)
    directory.warm()
    assert directory.is_warm("svc") and directory.get("svc").disabled is True, "the warmer read the change"


def test_the_warmer_survives_failing_tasks_and_logs_once(caplog):
    from authgate.oauth2.warmer import Warmer

    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("database down")

    def fine() -> None:
        calls.append("fine")

    warmer = Warmer([broken, fine])
    with caplog.at_level("WARNING", logger="authgate.oauth2"):
        warmer.run_once()
        warmer.run_once()
    assert calls == ["broken", "fine", "broken", "fine"], "one failing cache does not stop the others"
    assert len([r for r in caplog.records if "cache warmer" in r.getMessage()]) == 1
