"""`authgate serve --workers 2` as operators run it: /metrics sums every worker exactly, and the JSON
log of a full flow parses line by line, carries request ids, and holds none of the secrets used.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from oidc_client.flow import PARTNER_SECRET, PASSWORDS, BrowserLike, Flow, build_world
from prometheus_client.parser import text_string_to_metric_families
from test_admin_support import ROOT_PASSWORD, TOOL_REALM, password_token
from test_graceful_stop import serving, workers_of

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from authgate.settings import Settings
from testkit import TEST_MASTER_KEY

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="serve --workers spreads connections on Linux"
)

# TEST FIXTURE ONLY: the bearer token Prometheus would send.
SCRAPE_TOKEN = "scrape-token-for-tests-0123456789"
WRONG_PASSWORD = "not-the-password-7781-zebra"
# The machine running the tests may be busy: a password hash or a worker's first request can be slow.
HTTP = httpx.Client(timeout=60)


def scrape(url: str) -> dict[tuple[str, str, str], float]:
    """authgate_http_requests_total by (route, method, status), from a fresh connection (any worker)."""
    response = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}, timeout=60)
    assert response.status_code == 200, response.text
    found = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == "authgate_http_requests":
            for sample in family.samples:
                if sample.name == "authgate_http_requests_total":
                    labels = sample.labels
                    found[(labels["route"], labels["method"], labels["status"])] = sample.value
    return found


def without_scrapes(counts: dict[tuple[str, str, str], float]) -> dict[tuple[str, str, str], float]:
    return {key: value for key, value in counts.items() if key[0] != "/metrics"}


REQUESTS = [  # (method, path, data) → the (route template, status) each is counted under
    ("GET", "/healthz", None),
    ("GET", "/.well-known/openid-configuration", None),
    ("GET", "/no/such/page", None),
    ("POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}),
    ("GET", "/admin/api/users/someone", None),
]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # counting is the workers' business, not the database's
def test_metrics_from_two_workers_add_up_to_the_requests_sent(database_url, tmp_path):
    with serving(database_url, tmp_path, "--workers", "2", metrics_enabled="true",
                 metrics_token=SCRAPE_TOKEN) as (process, url, _log):
        assert len(workers_of(process.pid)) == 2
        assert HTTP.get(url + "/metrics").status_code == 401, "the token is required"
        before = without_scrapes(scrape(url))
        sent: Counter[tuple[str, str, str]] = Counter()
        lock = threading.Lock()

        def send(index: int) -> None:
            method, path, data = REQUESTS[index % len(REQUESTS)]
            # A connection per request: SO_REUSEPORT spreads new connections over both workers.
            response = httpx.request(method, url + path, data=data, timeout=60)
            route = {
                "/no/such/page": "<unmatched>", "/admin/api/users/someone": "/admin/api/users/{username}",
            }.get(path, path)
            with lock:
                sent[(route, method, str(response.status_code))] += 1

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(200)))
        expected = Counter(before) + sent
        # Whichever worker answers the scrape reads both workers' files: every scrape sees the same totals.
        for _ in range(6):
            assert without_scrapes(scrape(url)) == dict(expected)
        assert {status for (_, _, status) in sent} >= {"200", "404", "401"}


def refresh(url: str, refresh_token: str) -> httpx.Response:
    return HTTP.post(url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "coffee-spa"})


def prepare_world(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", master_key=TEST_MASTER_KEY)
    services = Services(settings)
    bootstrap.initialize(services, admin_username="root", admin_password=ROOT_PASSWORD)
    build_world(services)
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(TOOL_REALM))
    services.database.dispose()


@pytest.mark.slow
def test_the_json_log_of_a_full_flow_holds_request_ids_and_no_secret(database_url, tmp_path):
    prepare_world(database_url, tmp_path)
    with serving(database_url, tmp_path, "--workers", "2", log_format="json", access_log="true",
                 log_level="DEBUG", refresh_reuse_grace="0") as (process, url, log):
        secrets: set[str] = {PARTNER_SECRET, ROOT_PASSWORD, WRONG_PASSWORD, *PASSWORDS.values()}
        browser = BrowserLike(url)
        browser.http.timeout = httpx.Timeout(60)
        refused = browser.submit_login("/login", "barista", WRONG_PASSWORD)
        assert refused.status_code == 401  # the form again, with its error
        flow = Flow(scope="openid profile email get:drinks")
        code = browser.code_for(flow, "barista")
        tokens = HTTP.post(url + "/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": flow.redirect_uri,
            "client_id": flow.client_id, "code_verifier": flow.verifier}).json()
        refreshed = refresh(url, tokens["refresh_token"]).json()
        userinfo = HTTP.get(url + "/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
        assert userinfo.status_code == 200
        introspected = HTTP.post(url + "/oauth/introspect", data={"token": refreshed["access_token"]},
                                  auth=("partner", PARTNER_SECRET))
        assert introspected.status_code == 200
        latest = refresh(url, refreshed["refresh_token"]).json()
        # The first refresh token presented again after its successor was used: reuse, logged while answered.
        reuse = refresh(url, tokens["refresh_token"])
        assert reuse.status_code == 400
        revoked = HTTP.post(url + "/oauth/revoke", data={"token": latest["refresh_token"], "client_id": "coffee-spa"})
        assert revoked.status_code == 200
        admin_token = password_token(url, "root", ROOT_PASSWORD)
        users = HTTP.get(url + "/admin/api/users", headers={"Authorization": f"Bearer {admin_token}"})
        assert users.status_code == 200
        spoofed = HTTP.get(url + "/healthz", headers={"X-Request-ID": "chosen-by-the-client"})
        secrets |= {code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"], admin_token,
                    refreshed["access_token"], refreshed["refresh_token"], latest["access_token"],
                    latest["refresh_token"], flow.verifier,
                    *(cookie.value for cookie in browser.http.cookies.jar if cookie.value)}
        browser.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    text = log.read_text()
    leaked = sorted(secret for secret in secrets if secret in text)
    assert not leaked, f"secrets in the log: {[secret[:6] + '…' for secret in leaked]}"
    access = [line for line in lines if line["logger"] == "authgate.access"]
    assert {line["route"] for line in access} >= {
        "/login", "/authorize", "/oauth/token", "/userinfo", "/oauth/introspect", "/oauth/revoke", "/admin/api/users"}
    fields = {"timestamp", "level", "request_id", "method", "route", "status", "latency_ms"}
    assert all(fields <= line.keys() for line in access)
    token_lines = [line for line in access if line["route"] == "/oauth/token" and line["status"] == 200]
    assert any(line.get("client_id") == "coffee-spa" and line.get("sub") for line in token_lines)
    # Every line of the reuse request carries its id: the protocol's own line and the access line.
    reuse_id = reuse.headers["x-request-id"]
    of_reuse = [line for line in lines if line.get("request_id") == reuse_id]
    assert {line["logger"] for line in of_reuse} == {"authgate.oauth2", "authgate.access"}
    assert "reused" in next(line["message"] for line in of_reuse if line["logger"] == "authgate.oauth2")
    assert spoofed.headers["x-request-id"] != "chosen-by-the-client", "an untrusted peer's id is replaced"
    assert any(line["request_id"] == spoofed.headers["x-request-id"] for line in access)
