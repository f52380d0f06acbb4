"""The client directory's cache: one query per client per TTL, dropped at once by an admin change in this process."""

from __future__ import annotations

from sqlalchemy import event, update

from authgate.access.clients import ClientSpec
from authgate.caching import MISS
from authgate.oauth2.client_directory import ClientDirectory
from authgate.storage.models import Client
from authgate.testing.clock import FakeClock


def count_queries(database):
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def make_client(services, **fields):
    with services.realm(actor="test") as realm:
        realm.apis.create("https://api", permissions=["read", "write"])
        realm.clients.create(ClientSpec(
            client_id="svc", client_secret="s" * 40, grant_types=["client_credentials"],
            web_origins=["https://app.example"], permissions={"https://api": ["read"]}, **fields,
        ))


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


def test_an_admin_change_in_this_process_is_seen_once_committed(services):
    """The service that changes a client says so; the directory forgets it after the commit, not before."""
    make_client(services)
    directory = services.oauth2.clients
    assert directory.get("svc").disabled is False
    assert directory.is_registered_origin("https://app.example")
    with services.realm(actor="test") as realm:
        client = realm.clients.get("svc")
        realm.clients.update(
            ClientSpec(client_id="svc", client_secret="s" * 40, grant_types=["client_credentials"], disabled=True)
        )
        assert client.disabled
        assert directory.get("svc").disabled is False, "not committed yet: other readers still see the old row"
    assert directory.get("svc").disabled is True
    assert not directory.is_registered_origin("https://app.example")


def test_a_rolled_back_change_is_not_announced(services):
    make_client(services)
    directory = services.oauth2.clients
    record = directory.get("svc")
    try:
        with services.realm(actor="test") as realm:
            realm.clients.delete("svc")
            raise RuntimeError("the transaction fails")
    except RuntimeError:
        pass
    assert directory.peek("svc") is record


def test_an_api_change_reaches_the_audiences_and_every_clients_permissions(services):
    make_client(services)
    directory = services.oauth2.clients
    assert directory.get("svc").permissions_for("https://api") == ("read",)
    assert directory.get_audiences() == {"https://api"}
    with services.realm(actor="test") as realm:
        realm.apis.remove_permission("https://api", "read")
        realm.apis.create("https://other")
    assert directory.peek("svc") is MISS and directory.peek_audiences() is MISS
    assert directory.get("svc").permissions_for("https://api") == ()
    assert directory.get_audiences() == {"https://api", "https://other"}


def test_a_change_elsewhere_is_seen_after_the_ttl(services):
    make_client(services)
    clock = FakeClock()
    directory = ClientDirectory(services.database, ttl_seconds=2, clock=clock)
    assert directory.get("svc").disabled is False
    with services.database.transaction() as session:  # another process: nothing announced in this one
        session.execute(update(Client).where(Client.client_id == "svc").values(disabled=True))
    clock.advance(1.9)
    assert directory.get("svc").disabled is False, "served from the cache within the TTL"
    clock.advance(0.1)
    assert directory.peek("svc") is MISS
    assert directory.get("svc").disabled is True


def test_peek_never_loads_and_tells_a_miss_from_an_unknown_client(services):
    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=60)
    queries = count_queries(services.database)
    assert directory.peek("svc") is MISS and directory.peek("ghost") is MISS
    assert directory.peek_audiences() is MISS and directory.peek_origins() is MISS
    assert queries == []
    assert directory.get("ghost") is None
    assert directory.peek("ghost") is None, "a cached negative is a hit"
    assert directory.peek("x" * 10_000) is None, "an id no client can have is unknown without a query"


def test_concurrent_cold_lookups_share_one_load(services):
    """No herd: threads that miss at once wait for one query and share its record."""
    import threading

    make_client(services)
    directory = ClientDirectory(services.database, ttl_seconds=60)
    loads: list[str] = []
    gate = threading.Event()

    def slow_query(*args: object) -> None:
        loads.append(str(args[2]))
        gate.wait(2)  # keep the first load in flight while the others arrive

    event.listen(services.database.engine, "before_cursor_execute", slow_query)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(directory.get("svc"))) for _ in range(12)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    event.remove(services.database.engine, "before_cursor_execute", slow_query)
    assert len([q for q in loads if "FROM clients" in q]) == 1
    assert len(results) == 12 and all(r is results[0] for r in results) and results[0] is not None


def test_refresh_due_reloads_entries_in_use_before_they_expire(services):
    """The warmer keeps a client that is being asked for fresh past its TTL; a forgotten one expires."""
    make_client(services)
    with services.realm(actor="test") as realm:
        realm.clients.create(ClientSpec(client_id="idle", client_secret="i" * 40, grant_types=["client_credentials"]))
    clock = FakeClock()
    directory = ClientDirectory(services.database, ttl_seconds=0.4, clock=clock)
    directory.get("svc"), directory.get("idle"), directory.get_audiences()
    for _ in range(24):  # "svc" in use, refreshed every tick; "idle" never asked for again
        assert directory.peek("svc") is not MISS, "a client in use must never go cold"
        directory.refresh_due()
        clock.advance(0.05)
    assert directory.peek("idle") is MISS
    with services.database.transaction() as session:  # a change by another process
        session.execute(update(Client).where(Client.client_id == "svc").values(disabled=True))
    clock.advance(0.25)
    directory.refresh_due()
    record = directory.peek("svc")
    assert record is not MISS and record is not None and record.disabled is True, "the warmer read the change"


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
