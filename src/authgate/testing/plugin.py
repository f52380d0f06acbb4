"""The pytest plugin: fixtures that give a test a real issuer.

Installed with authgate, it loads by itself (a ``pytest11`` entry point);
``-p no:authgate.testing.plugin`` turns it off. Fixtures:

``authgate_issuer``
    One ``TestIssuer`` for the whole session. Its audience is the
    ``authgate_audience`` ini option (default ``https://api.example``).
``authgate_issuer_factory``
    Makes private issuers for one test, for tests that rotate keys or take
    the issuer down; stopped when the test ends.
``authgate_clock``
    A ``FakeClock`` at the current time, to hand to the guard and issuer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authgate.testing.clock import FakeClock
from authgate.testing.issuer import DEFAULT_AUDIENCE, TestIssuer

AUDIENCE_OPTION = "authgate_audience"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        AUDIENCE_OPTION,
        "audience (aud) of the tokens the authgate_issuer fixture mints",
        default=DEFAULT_AUDIENCE,
    )


@pytest.fixture(scope="session")
def authgate_issuer(pytestconfig: pytest.Config) -> Iterator[TestIssuer]:
    """A session-wide issuer on 127.0.0.1 minting tokens for your API's audience."""
    with TestIssuer(audience=str(pytestconfig.getini(AUDIENCE_OPTION))) as issuer:
        yield issuer


@pytest.fixture
def authgate_issuer_factory(pytestconfig: pytest.Config) -> Iterator[Callable[..., TestIssuer]]:
    """``make(**options)`` -> a new ``TestIssuer`` of this test's own."""
    started: list[TestIssuer] = []

    def make(**options: Any) -> TestIssuer:
        options.setdefault("audience", str(pytestconfig.getini(AUDIENCE_OPTION)))
        started.append(TestIssuer(**options))
        return started[-1]

    yield make
    for issuer in started:
        issuer.stop()


@pytest.fixture
def authgate_clock() -> FakeClock:
    """A clock frozen at the current time; ``advance(seconds)`` moves it."""
    return FakeClock()
