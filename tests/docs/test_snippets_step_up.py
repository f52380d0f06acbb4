"""The step-up sample (docs/snippets/guard_step_up.py), run against authgate.testing's issuer: a token from a
password sign-in is sent back with RFC 9470's challenge, one from a second factor passes."""

from __future__ import annotations

import runpy
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from authgate.testing import TestIssuer

SNIPPET = Path(__file__).resolve().parents[2] / "docs" / "snippets" / "guard_step_up.py"
PASSWORD, MFA = "urn:authgate:acr:password", "urn:authgate:acr:mfa"


@pytest.fixture
def issuer(authgate_issuer_factory: Callable[..., TestIssuer]) -> TestIssuer:
    return authgate_issuer_factory(audience="https://coffee.example/api")


@pytest.fixture
def client(issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("AUTHGATE_ISSUER", issuer.url)
    return TestClient(runpy.run_path(str(SNIPPET))["app"])


def test_a_refund_needs_a_second_factor(issuer: TestIssuer, client: TestClient) -> None:
    allowed = client.post("/refunds", headers=issuer.auth_headers("post:refunds", sub="ada", acr=MFA))
    assert (allowed.status_code, allowed.json()) == (200, {"refunded_by": "ada"})
    refused = client.post("/refunds", headers=issuer.auth_headers("post:refunds", acr=PASSWORD))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="https://coffee.example/api", error="insufficient_user_authentication", '
        f'error_description="a stronger authentication is required", acr_values="{MFA}"')


def test_changing_the_payout_account_needs_a_recent_sign_in(issuer: TestIssuer, client: TestClient) -> None:
    now = int(time.time())
    recent = client.patch("/payout-account", headers=issuer.auth_headers("patch:payouts", auth_time=now - 10))
    assert recent.status_code == 200
    stale = client.patch("/payout-account", headers=issuer.auth_headers("patch:payouts", auth_time=now - 3600))
    assert stale.status_code == 401
    assert 'max_age="300"' in stale.headers["WWW-Authenticate"]
