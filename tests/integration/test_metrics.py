"""/metrics in one process, on both databases: off unless enabled, guarded by its token, and counting
what the code does (requests by route template, tokens, logins, locks, reuse, outages, pool, outbox).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from test_outbox import clock, queue, sender, smtp  # noqa: F401  (fixtures)
from test_token_world import BACKOFFICE_SECRET, PASSWORD, basic, load_world

from authgate import bootstrap
from authgate.services import Services
from authgate.storage.database import Database, DatabaseUnavailable
from authgate.web.app import create_app
from testkit import LiveServer, free_port

# TEST FIXTURE ONLY: the scrape token.
SCRAPE_TOKEN = "metrics-token-for-tests-0123456789"
HTTP = httpx.Client(timeout=60)


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics_server(make_settings: Callable[..., Any], database_url: str) -> Iterator[Any]:
    port = free_port()
    settings = make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{port}", metrics_enabled=True,
                             metrics_token=SCRAPE_TOKEN, lockout_pair_threshold=2, lockout_base_delay=60.0,
                             refresh_reuse_grace=0)
    services = Services(settings)
    bootstrap.prepare(services)
    load_world(services)
    server = LiveServer(create_app(services=services), port).start()
    server.services = services  # type: ignore[attr-defined]

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = HTTP.get(server.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=")
        return samples(response.text)

    server.scrape = scrape  # type: ignore[attr-defined]
    yield server
    server.stop()
    services.database.dispose()


def test_metrics_are_off_unless_enabled(live_server):
    assert HTTP.get(live_server.url + "/metrics").status_code == 404


@pytest.mark.parametrize(("description", "authorization"), [
    ("no credentials", None),
    ("a wrong token", f"Bearer {SCRAPE_TOKEN}x"),
    ("another scheme", "Basic " + SCRAPE_TOKEN),
    ("the token twice", f"Bearer {SCRAPE_TOKEN} {SCRAPE_TOKEN}"),
    ("a Latin-1 byte (obs-text)", "Bearer \u00ff"),
    ("not ASCII", "Bearer t\u00f6ken"),
    ("far too long", "Bearer " + "a" * 20_000),
])
def test_the_token_guards_the_scrape(metrics_server, description, authorization):
    headers = {"Authorization": authorization.encode("utf-8")} if authorization else {}
    response = HTTP.get(metrics_server.url + "/metrics", headers=headers)
    assert response.status_code == 401, description
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_requests_are_counted_by_route_template_and_status(metrics_server):
    before = metrics_server.scrape()  # the server's start-up was checked on /healthz
    for path in ("/healthz", "/healthz", "/admin/api/users/abc", "/admin/api/users/def", "/nope/1", "/nope/2"):
        HTTP.get(metrics_server.url + path)
    found = metrics_server.scrape()
    healthz = {"route": "/healthz", "method": "GET", "status": "200"}
    requests = "authgate_http_requests_total"
    assert value(found, requests, **healthz) - value(before, requests, **healthz) == 2
    assert value(found, requests, route="/admin/api/users/{username}", method="GET", status="401") == 2
    assert value(found, requests, route="<unmatched>", method="GET", status="404") == 2
    assert (value(found, "authgate_http_request_duration_seconds_count", route="/healthz")
            - value(before, "authgate_http_request_duration_seconds_count", route="/healthz")) == 2
    assert not any("abc" in str(labels) or "/nope/1" in str(labels) for _, labels in found), (
        "raw paths never become labels"
    )


def test_tokens_logins_locks_and_reuse_are_counted(metrics_server):
    url = metrics_server.url
    issued = HTTP.post(url + "/oauth/token", data={"grant_type": "client_credentials"},
                       headers=basic("backoffice", BACKOFFICE_SECRET))
    assert issued.status_code == 200
    login = {"grant_type": "password", "client_id": "coffee-app", "username": "barista"}
    first = HTTP.post(url + "/oauth/token", data={**login, "password": PASSWORD}).json()["refresh_token"]
    for _ in range(2):
        wrong = HTTP.post(url + "/oauth/token", data={**login, "username": "manager", "password": "wrong"})
        assert wrong.status_code == 400
    locked = HTTP.post(url + "/oauth/token", data={**login, "username": "manager", "password": PASSWORD})
    assert locked.status_code == 429
    refresh = {"grant_type": "refresh_token", "client_id": "coffee-app"}
    second = HTTP.post(url + "/oauth/token", data={**refresh, "refresh_token": first}).json()["refresh_token"]
    HTTP.post(url + "/oauth/token", data={**refresh, "refresh_token": second})
    assert HTTP.post(url + "/oauth/token", data={**refresh, "refresh_token": first}).status_code == 400
    found = metrics_server.scrape()
    assert value(
        found, "authgate_tokens_issued_total", grant_type="client_credentials", client_type="confidential"
    ) == 1
    assert value(found, "authgate_tokens_issued_total", grant_type="password", client_type="public") == 1
    assert value(found, "authgate_tokens_issued_total", grant_type="refresh_token", client_type="public") == 2
    assert value(found, "authgate_logins_total", outcome="success") == 1
    assert value(found, "authgate_logins_total", outcome="wrong_password") == 2
    assert value(found, "authgate_logins_total", outcome="locked") == 1
    assert value(found, "authgate_throttle_locks_total", kind="pair") == 1
    assert value(found, "authgate_refresh_token_reuse_detections_total") == 1


def test_the_outbox_depth_and_its_failures(make_settings, database_url, smtp, clock):
    services = Services(make_settings(database_url=database_url, smtp_url=smtp.url, outbox_max_attempts=2))
    bootstrap.prepare(services)
    smtp.stop()
    queue(services)
    assert value(samples(services.metrics.exposition().decode()), "authgate_outbox_depth") == 1
    outbox = sender(services, clock)
    outbox.on_failure = services.metrics.outbox_failure  # as Services.outbox wires its own sender
    assert outbox.run_once().retried == 1
    found = samples(services.metrics.exposition().decode())
    assert value(found, "authgate_outbox_delivery_failures_total", final="false") == 1
    assert value(found, "authgate_outbox_depth") == 1  # still waiting for its retry
    clock.advance(3600)
    assert outbox.run_once().failed == 1
    found = samples(services.metrics.exposition().decode())
    assert value(found, "authgate_outbox_delivery_failures_total", final="true") == 1
    assert value(found, "authgate_outbox_depth") == 0
    services.database.dispose()


def test_a_database_outage_is_counted_and_the_scrape_still_answers(make_settings, tmp_path):
    settings = make_settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", metrics_enabled=True)
    server = LiveServer(create_app(services=Services(settings)), free_port()).start()
    try:
        assert HTTP.get(server.url + "/readyz").status_code == 503
        response = HTTP.get(server.url + "/metrics")
        assert response.status_code == 200  # the outbox depth is left out, the rest is there
        found = samples(response.text)
        assert value(found, "authgate_outage_responses_total", route="/readyz") == 1
        assert not any(name == "authgate_outbox_depth" for name, _ in found)
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite's pool has no limit to reach
def test_pool_in_use_and_timeouts(database_url):
    from authgate.metrics import Metrics

    database = Database(database_url, pool_size=1, timeout=1.0)
    metrics = Metrics()
    metrics.watch_database(database)
    held = [database.engine.connect() for _ in range(2)]  # pool_size 1 + overflow 1: every connection
    # The scrape answers with every connection busy: the outbox depth (which needs one) is left out.
    found = samples(metrics.exposition().decode())
    assert value(found, "authgate_db_pool_connections_in_use") == 2
    assert value(found, "authgate_db_pool_overflow") == 1
    assert not any(name == "authgate_outbox_depth" for name, _ in found)
    with pytest.raises(DatabaseUnavailable), database.reader() as session:
        session.execute(text("SELECT 1"))
    for connection in held:
        connection.close()
    found = samples(metrics.exposition().decode())
    assert value(found, "authgate_db_pool_timeouts_total") == 2  # the first scrape's wait for the depth, the reader's
    assert value(found, "authgate_db_pool_connections_in_use") == 0
    database.dispose()


def test_counting_from_many_threads_loses_nothing(metrics_server):
    def hit() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(10):
                client.get(metrics_server.url + "/healthz")

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = metrics_server.scrape()
    assert value(found, "authgate_http_requests_total", route="/healthz", method="GET", status="200") >= 60


ROOT = Path(__file__).resolve().parents[2]


def exposed_names(body: str) -> set[str]:
    """Every series name a scrape shows or would show once counted (a labelled metric not yet counted
    has its HELP and TYPE but no sample yet)."""
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    for family in text_string_to_metric_families(body):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # names do not depend on the database
def test_every_metric_the_dashboard_queries_exists_in_a_real_scrape(metrics_server):
    response = HTTP.get(metrics_server.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    exposed = exposed_names(response.text)
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "authgate.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bauthgate_[a-z_]+", target["expr"])}
    assert queried, "the dashboard queries authgate's metrics"
    assert queried <= exposed, f"queried but never exposed: {sorted(queried - exposed)}"
    families = {
        name.removesuffix("_total") for name in exposed if not name.endswith(("_bucket", "_count", "_sum", "_created"))
    }
    panelled = {re.sub(r"_(total|bucket)$", "", name) for name in queried}
    assert panelled >= families - {"authgate_http_request_duration_seconds"}, "every metric has a panel"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_operations_page_lists_exactly_the_metrics_exposed(metrics_server):
    response = HTTP.get(metrics_server.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    operations = (ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(authgate_[a-z_]+)`", operations, re.MULTILINE))
    exposed = {family.name + ("_total" if family.type == "counter" else "")
               for family in text_string_to_metric_families(response.text)
               if not family.name.endswith("_created")}  # prometheus-client's creation times, not metrics of ours
    assert documented == exposed
