"""The guard guides' code samples, executed: docs/snippets/django_*.py and
drf_views.py in a Django project configured from the settings snippet, and
test_with_kit.py run by pytest as a user's project would run it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from authgate.testing import TestIssuer
from django_project import configure
from testkit import in_own_thread

SNIPPETS = Path(__file__).resolve().parents[2] / "docs" / "snippets"

configure()


def load_snippet(name: str) -> ModuleType:
    """Import a snippet as a module of its own (a URLconf must be importable)."""
    spec = importlib.util.spec_from_file_location(f"snippet_{name}", SNIPPETS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def issuer(authgate_issuer_factory: Callable[..., TestIssuer]) -> TestIssuer:
    return authgate_issuer_factory(audience="https://coffee.example/api")


@pytest.fixture
def snippet_settings(issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Django runs with the settings snippet's guard, middleware and DRF settings."""
    monkeypatch.setenv("AUTHGATE_ISSUER", issuer.url)
    values = runpy.run_path(str(SNIPPETS / "django_settings.py"))
    assert values["AUTHGATE_GUARD"]["AUDIENCE"] == issuer.audience
    with override_settings(AUTHGATE_GUARD=values["AUTHGATE_GUARD"],
                           MIDDLEWARE=values["MIDDLEWARE"],
                           REST_FRAMEWORK=values["REST_FRAMEWORK"]):
        yield


def response_of(response: Any) -> tuple[int, str | None, Any]:
    return (response.status_code, response.headers.get("WWW-Authenticate"),
            json.loads(response.content))


def test_django_views_snippet(snippet_settings: None, issuer: TestIssuer) -> None:
    def exercise() -> None:
        with override_settings(ROOT_URLCONF=load_snippet("django_views").__name__):
            client = Client()
            status, _, body = response_of(client.get(
                "/drinks-detail", headers=issuer.auth_headers("get:drinks-detail", sub="ada")))
            assert (status, body["reader"]) == (200, "ada")
            status, challenge, _ = response_of(client.get("/drinks-detail"))
            assert (status, challenge) == (401, 'Bearer realm="https://coffee.example/api"')

            deleted = in_own_thread(lambda: asyncio.run(AsyncClient().delete(
                "/drinks/4", headers=issuer.auth_headers("delete:drinks"))))
            assert response_of(deleted)[::2] == (200, {"id": 4, "may": ["delete:drinks"]})
            status, challenge, _ = response_of(client.delete(
                "/drinks/4", headers=issuer.auth_headers("get:drinks")))
            assert status == 403 and challenge is not None and "insufficient_scope" in challenge

            assert response_of(client.get("/whoami", headers=issuer.auth_headers(sub="bo")))[2] == {
                "sub": "bo"}
            assert response_of(client.get("/whoami"))[2] == {"sub": None}
            status, challenge, _ = response_of(client.get(
                "/whoami", headers={"Authorization": "Bearer " + issuer.expired_token()}))
            assert status == 401 and challenge is not None and "token expired" in challenge

    in_own_thread(exercise)


def test_drf_views_snippet(snippet_settings: None, issuer: TestIssuer) -> None:
    # Loaded under the snippet's REST_FRAMEWORK: DRF reads it when the classes are made.
    with override_settings(ROOT_URLCONF=load_snippet("drf_views").__name__):
        client = Client()
        created = client.post("/drinks", {"title": "latte"}, content_type="application/json",
                              headers=issuer.auth_headers("post:drinks", sub="manager-1"))
        assert response_of(created)[::2] == (201, {"title": "latte", "by": "manager-1"})
        refused = client.post("/drinks", {"title": "latte"}, content_type="application/json",
                              headers=issuer.auth_headers("get:drinks"))
        status, challenge, body = response_of(refused)
        assert (status, body["error"]) == (403, "insufficient_scope")
        assert challenge is not None and 'scope="post:drinks"' in challenge
        status, challenge, _ = response_of(client.post("/drinks", {"title": "latte"},
                                                       content_type="application/json"))
        assert (status, challenge) == (401, 'Bearer realm="https://coffee.example/api"')
        deleted = client.delete("/drinks/2", headers=issuer.auth_headers("patch:drinks", sub="cy"))
        assert response_of(deleted)[::2] == (200, {"deleted": 2, "by": "cy"})


def test_the_test_kit_snippet_passes_in_a_project_of_its_own(tmp_path: Path) -> None:
    # Copied out of this repository: no conftest, no ini file, only the
    # plugin that installing authgate registers with pytest.
    shutil.copy(SNIPPETS / "test_with_kit.py", tmp_path / "test_api.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), "test_api.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "7 passed" in result.stdout


def test_django_test_snippet(snippet_settings: None, issuer: TestIssuer) -> None:
    tests = load_snippet("django_test_with_kit")
    with override_settings(ROOT_URLCONF=load_snippet("django_views").__name__):
        tests.test_baristas_read_recipes(issuer)
        tests.test_expired_tokens_are_refused(issuer)
    with override_settings(ROOT_URLCONF="django_project"), pytest.raises(AssertionError):
        tests.test_baristas_read_recipes(issuer)  # no such view there: its assertion bites
