"""Every sample in the documentation, run: shell against a live demo, guards verifying its tokens,
realm files through `authgate apply`, the deployment recipe on PostgreSQL."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from docs_testkit import SNIPPETS, Demo, authgate, authgate_env, wait_until_answering

from testkit import TEST_MASTER_KEY, empty_postgres, free_port, npm_install

SPA = Path(__file__).resolve().parent / "spa"

# One worker runs them all: they share one live demo (a session fixture).
pytestmark = pytest.mark.xdist_group("docs_samples")


def run_shell(demo: Demo, name: str, **env: str) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", demo.snippet(name)], env={**demo.env, **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def json_documents(text: str) -> list[Any]:
    """curl prints responses back to back: decode each."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while index < len(text.rstrip()):
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
        while index < len(text) and text[index].isspace():
            index += 1
    return documents


def load_sample(demo: Demo, name: str) -> ModuleType:
    module = ModuleType(name.removesuffix(".py"))
    exec(compile(demo.snippet(name), str(SNIPPETS / name), "exec"), module.__dict__)
    return module


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- tokens with curl ----------------------------------------------------------------------------------


def test_token_password(demo: Demo) -> None:
    [answer] = json_documents(run_shell(demo, "token_password.sh", BARISTA_PASSWORD=demo.passwords["barista"]))
    assert answer["token_type"] == "Bearer" and answer["scope"] == "get:drinks get:drinks-detail"


def test_token_client_credentials(demo: Demo) -> None:
    [answer] = json_documents(run_shell(demo, "token_client_credentials.sh",
                                        NIGHTLY_REPORT_SECRET=demo.secrets["nightly-report"]))
    assert answer["token_type"] == "Bearer" and answer["scope"] == "get:drinks"


def test_m2m_client(demo: Demo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIGHTLY_REPORT_SECRET", demo.secrets["nightly-report"])
    module = load_sample(demo, "m2m_client.py")
    assert capsys.readouterr().out == "get:drinks\n"  # the scope the client was granted
    introspected = httpx.post(f"{demo.url}/oauth/introspect", data={"token": module.token},
                              auth=("nightly-report", demo.secrets["nightly-report"])).json()
    assert introspected["active"] is True and introspected["client_id"] == "nightly-report"


# --- the guards ----------------------------------------------------------------------------------------


def test_guard_flask_runs_as_a_script(demo: Demo, tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "app.py"
    script.write_text(demo.snippet("guard_flask.py").replace("app.run(port=5001)", f"app.run(port={port})"))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/drinks-detail"
    try:
        wait_until_answering_any(api, server)
        barista = httpx.get(api, headers=bearer(demo.token("barista")))
        assert barista.status_code == 200 and barista.json()["permissions"] == ["get:drinks", "get:drinks-detail"]
        missing = httpx.get(api)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        machine = httpx.get(api, headers=bearer(demo.client_token()))  # get:drinks only
        assert machine.status_code == 403 and machine.json()["error"] == "insufficient_scope"
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_until_answering_any(url: str, process: subprocess.Popen[bytes]) -> None:
    """Up once it answers at all (the route refuses an anonymous call with 401)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sample exited"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_guard_fastapi_errors_nest_under_detail(demo: Demo) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(load_sample(demo, "guard_fastapi.py").app)
    answer = client.get("/drinks-detail", headers=bearer(demo.token("manager")))
    assert answer.status_code == 200 and "post:drinks" in answer.json()["permissions"]
    assert client.get("/drinks-detail").status_code == 401
    refused = client.get("/drinks-detail", headers=bearer(demo.client_token()))
    assert refused.status_code == 403 and refused.json()["detail"]["error"] == "insufficient_scope"
    assert "insufficient_scope" in refused.headers["www-authenticate"]


def test_guard_asgi(demo: Demo) -> None:
    from starlette.testclient import TestClient

    client = TestClient(load_sample(demo, "guard_asgi.py").app)
    assert client.get("/drinks-detail", headers=bearer(demo.token("barista"))).status_code == 200
    assert client.get("/drinks-detail").status_code == 401
    assert client.get("/drinks-detail", headers=bearer(demo.client_token())).status_code == 403
    assert client.get("/whoami").json() == {"caller": None}
    assert client.get("/whoami", headers=bearer(demo.client_token())).json() == {"caller": "nightly-report"}


def test_guard_wsgi(demo: Demo) -> None:
    from werkzeug.test import Client

    client = Client(load_sample(demo, "guard_wsgi.py").app)
    assert client.get("/", headers=bearer(demo.token("barista"))).status_code == 200
    refused = client.get("/", headers=bearer(demo.client_token()))
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"
    assert client.get("/").status_code == 401


def test_other_issuers(demo: Demo) -> None:
    module = load_sample(demo, "other_issuers.py")  # builds the guards; none fetches anything until a token comes
    assert module.auth0.config.issuer.endswith("/") and module.auth0.config.algorithms == ["RS256"]
    assert module.keycloak.config.issuer.endswith("/realms/coffee")
    assert module.custom.config.jwks_uri == "https://login.example.org/keys"


# --- realm files and the admin API ------------------------------------------------------------------


def apply(env: dict[str, str], path: Path) -> dict[str, Any]:
    done = authgate(env, "apply", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_realm_example(tmp_path: Path) -> None:
    env = authgate_env(tmp_path)  # a fresh SQLite database of its own
    first = apply(env, SNIPPETS / "realm_example.yaml")
    assert first["changed"] and set(first["generated_secrets"]) == {"nightly-report"}
    assert apply(env, SNIPPETS / "realm_example.yaml")["changed"] is False  # idempotent


def test_federation_realm(tmp_path: Path) -> None:
    env = authgate_env(tmp_path)
    missing = authgate(env, "apply", str(SNIPPETS / "federation_realm.yaml"))
    assert missing.returncode != 0 and "identity_providers[0]" in missing.stderr and "CORP_SSO_SECRET" in missing.stderr
    env.update(CORP_SSO_SECRET="corp-secret-for-docs", GITHUB_SECRET="github-secret-for-docs")
    first = apply(env, SNIPPETS / "federation_realm.yaml")
    assert first["created"]["identity_providers"] == 2
    # sso.corp.example cannot be reached: a warning naming it; the provider is saved all the same.
    assert [warning for warning in first["warnings"] if "'corp'" in warning]
    assert apply(env, SNIPPETS / "federation_realm.yaml")["changed"] is False  # idempotent


def test_admin_client_and_admin_api(demo: Demo) -> None:
    applied = apply(demo.env, SNIPPETS / "admin_client.yaml")
    secret = applied["generated_secrets"]["ops-bot"]
    users, client = json_documents(run_shell(demo, "admin_api.sh", OPS_BOT_SECRET=secret))
    assert {"admin", "barista", "manager"} <= {user["username"] for user in users["items"]}
    assert client["client_id"] == "coffee-spa"
    token = httpx.post(f"{demo.url}/oauth/token", auth=("ops-bot", secret),
                       data={"grant_type": "client_credentials", "audience": "authgate-admin"}).json()["access_token"]
    refused = httpx.post(f"{demo.url}/admin/api/users", headers=bearer(token), json={"username": "eve"})
    assert refused.status_code == 403  # users:write was not granted


# --- deployment ------------------------------------------------------------------------------------------


def test_deploy_settings_has_no_insecure_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from authgate.settings import Settings

    monkeypatch.setenv("AUTHGATE_CONFIG", str(SNIPPETS / "deploy_settings.yaml"))
    monkeypatch.setenv("AUTHGATE_MASTER_KEY", TEST_MASTER_KEY)
    settings = Settings()
    assert settings.database_url and settings.database_url.startswith("postgresql+psycopg://")
    assert settings.redis_url and settings.trusted_proxies == ["10.0.0.0/8"]
    assert settings.smtp_url is not None  # mail is delivered, not written to the log
    assert settings.insecure_defaults() == []


def test_deploy_serve_on_postgresql_and_redis(pg_database: str, tmp_path: Path) -> None:
    """The recipe as written, with the paths, hosts and port of this machine in place of production's."""
    empty_postgres(pg_database)
    port = free_port()
    config = tmp_path / "authgate.yaml"
    config.write_text((SNIPPETS / "deploy_settings.yaml").read_text()
                      .replace("postgresql+psycopg://authgate@db.internal:5432/authgate", pg_database)
                      .replace("redis.internal", "127.0.0.1"))
    (tmp_path / "master-key").write_text(TEST_MASTER_KEY)
    (tmp_path / "admin-password").write_text("a-long-first-admin-passphrase-42\n")
    script = ((SNIPPETS / "deploy_serve.sh").read_text()
              .replace("/etc/authgate/authgate.yaml", str(config))
              .replace("/run/secrets/authgate-master-key", str(tmp_path / "master-key"))
              .replace("/run/secrets/first-admin-password", str(tmp_path / "admin-password"))
              .replace("--port 8000 --workers 4", f"--port {port} --workers 1")
              .replace("--host 0.0.0.0", "--host 127.0.0.1"))
    env = {key: value for key, value in authgate_env(tmp_path).items() if key != "AUTHGATE_MASTER_KEY"}
    server = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/readyz", server, seconds=90)
        discovery = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == "https://id.example.com"
    finally:
        server.terminate()  # `exec`: bash became authgate serve
        server.wait(timeout=15)


# --- the single-page app -----------------------------------------------------------------------------


def log_in_like_a_browser(authorize: str, username: str, password: str, redirect_uri: str) -> str:
    """Follow authgate's redirects and submit its login form, as a browser would; the callback URL."""
    with httpx.Client() as browser:
        response = browser.get(authorize)
        for _ in range(10):
            location = response.headers.get("location", "")
            if location.startswith(redirect_uri):
                return location
            if response.is_redirect:
                response = browser.get(urljoin(str(response.url), location))
                continue
            fields = {name: html.unescape(value) for name, value in
                      re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text)}
            response = browser.post(urljoin(str(response.url), "/login"),
                                    data={**fields, "username": username, "password": password})
    raise AssertionError(f"no redirect to {redirect_uri}; last answer: {response.status_code}")


def test_spa_oidc_client_ts_logs_in_with_code_and_pkce(demo: Demo, tmp_path: Path) -> None:
    npm_install(SPA, "oidc-client-ts")
    (tmp_path / "node_modules").symlink_to(SPA / "node_modules")
    sample = tmp_path / "spa.mjs"
    sample.write_text(demo.snippet("spa_oidc_client_ts.js"))
    node = subprocess.Popen(["node", str(SPA / "drive.mjs"), str(sample)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = node.stdout.readline()  # type: ignore[union-attr]
        assert first, node.stderr.read()  # type: ignore[union-attr]
        authorize = json.loads(first)["authorize"]
        query = parse_qs(urlsplit(authorize).query)
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["coffee-spa"]
        callback = log_in_like_a_browser(authorize, "barista", demo.passwords["barista"],
                                         "http://127.0.0.1:5000/callback")
        out, err = node.communicate(callback + "\n", timeout=30)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert node.returncode == 0, err
    user = json.loads(out.splitlines()[-1])
    introspected = httpx.post(f"{demo.url}/oauth/introspect", data={"token": user["access_token"]},
                              auth=("nightly-report", demo.secrets["nightly-report"])).json()
    assert introspected["active"] is True and introspected["client_id"] == "coffee-spa"
    assert introspected["aud"] == "https://coffee.example/api" and introspected["sub"] == user["sub"]
    assert set(introspected["scope"].split()) == {"openid", "profile", "get:drinks", "get:drinks-detail"}
