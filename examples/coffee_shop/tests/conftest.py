"""The coffee shop API under test, its guard pointed at authgate.testing's issuer.

The ``authgate_issuer`` fixture comes with authgate (``pip install authgate``
brings the pytest plugin); its tokens are for the audience set by the
``authgate_audience`` ini option, here the coffee shop's API.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from authgate.guard.flask import FlaskGuard
from authgate.testing import TestIssuer

API_FILE = Path(__file__).resolve().parents[1] / "api.py"


def load_api() -> ModuleType:
    """Import examples/coffee_shop/api.py (the example is not a package)."""
    spec = importlib.util.spec_from_file_location("coffee_shop_example_api", API_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def api() -> ModuleType:
    return load_api()


@pytest.fixture
def make_client(api: ModuleType) -> Iterator[Callable[..., Any]]:
    """``make_client(issuer, **guard_settings)``: a test client of a fresh API
    (one drink: water) whose guard trusts ``issuer``."""
    guards: list[FlaskGuard] = []

    def make(issuer: TestIssuer, **settings: Any) -> Any:
        guards.append(FlaskGuard(issuer=issuer.url, audience=issuer.audience,
                                 required_typ="at+jwt", **settings))
        return api.create_app(guard=guards[-1]).test_client()

    yield make
    for guard in guards:
        guard.close()


@pytest.fixture
def client(make_client: Callable[..., Any], authgate_issuer: TestIssuer) -> Any:
    """The API, trusting the session's test issuer."""
    return make_client(authgate_issuer)
