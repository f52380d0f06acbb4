"""Browser-test fixtures: headless Debian Chromium through Playwright, and the whole coffee shop running.

`coffee_shop` starts authgate (the real app under uvicorn), the coffee API
(examples/coffee_shop/api.py with its FlaskGuard) and the frontend's static
server, each on a free loopback port; the realm registers the frontend's
actual origin for the `coffee-spa` client. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"
]
# TEST FIXTURE ONLY: the demo users' passwords in this test world (the same as test_coffee_shop.py's).
PASSWORDS = {"barista": "espresso-tamper-crema-1977", "manager": "menu-board-latte-art-2024"}


@dataclass
class CoffeeShop:
    issuer: str
    api: str
    frontend: str
    services: Services


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _root_conftest(config: pytest.Config) -> Any:
    wanted = ROOT / "tests" / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", "") or "/nonexistent").resolve() == wanted:
            return plugin
    raise LookupError("tests/conftest.py is not loaded")


def _realm(frontend: str) -> str:
    demo = (ROOT / "src/authgate/demo/realm.yaml").read_text()
    # The demo realm as shipped, with the frontend's test origin instead of port 5000.
    return demo.replace("http://127.0.0.1:5000", frontend).replace("http://localhost:5000", frontend)


@pytest.fixture(scope="session")
def coffee_shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoffeeShop]:
    conftest = _root_conftest(request.config)  # tests/conftest.py: LiveServer, free_port, TEST_MASTER_KEY

    tmp = tmp_path_factory.mktemp("coffee")
    auth_port, api_port, web_port = conftest.free_port(), conftest.free_port(), conftest.free_port()
    issuer, api_url, frontend_url = (f"http://127.0.0.1:{port}" for port in (auth_port, api_port, web_port))
    settings = Settings(data_dir=tmp / "data", master_key=conftest.TEST_MASTER_KEY, issuer=issuer,
                        database_url=f"sqlite:///{tmp / 'authgate.db'}")
    services = Services(settings)
    bootstrap.prepare(services)
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(_realm(frontend_url)))
        for username, password in PASSWORDS.items():
            realm.users.set_password(username, password)
    authgate = conftest.LiveServer(create_app(services=services), auth_port).start()

    api_module = _load(ROOT / "examples/coffee_shop/api.py", "coffee_api")
    from authgate.guard.flask import FlaskGuard

    guard = FlaskGuard(issuer=issuer, audience="https://coffee.example/api", required_typ="at+jwt")
    api_app = api_module.create_app(guard=guard, cors_origins=[frontend_url])
    api_server = make_server("127.0.0.1", api_port, api_app, threaded=True)
    threading.Thread(target=api_server.serve_forever, daemon=True).start()

    frontend_module = _load(ROOT / "examples/coffee_shop/frontend/server.py", "coffee_frontend")
    web_server = frontend_module.make_server(web_port, issuer=issuer, api=api_url)
    frontend_module.serve_in_thread(web_server)

    yield CoffeeShop(issuer, api_url, frontend_url, services)
    web_server.shutdown()
    api_server.shutdown()
    authgate.stop()
    services.database.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Any:
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
