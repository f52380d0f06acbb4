"""Schemathesis against the running server's own OpenAPI document: no server error, no response off the schema.

The server is live over HTTP, the token a real admin token from the password
grant. Cases come from every operation of the document, schema-valid and
schema-violating, with a derandomized (fixed) seed, so a run is repeatable.
Every response is checked against what the document declares for that
operation: status code, content type, body schema and headers; invalid input
must be refused with a 4xx; an operation that needs a token must not answer
without one.

One check is left out on purpose: `positive_data_acceptance` assumes the
schema is the whole truth about valid input. Here the domain has rules no
JSON Schema states — password strength, and names that must refer to an
existing role or API — so schema-valid input is rightly refused with 422.
"""

from __future__ import annotations

import time

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from test_admin_support import AdminWorld, admin_world  # noqa: F401  (fixture)

MIN_REQUESTS = 1000


@pytest.mark.parametrize("backend", ["postgresql"])
def test_generated_requests_get_no_server_error_and_only_declared_responses(admin_world: AdminWorld) -> None:
    schema = schemathesis.openapi.from_url(f"{admin_world.api}/openapi.json")
    session = requests.Session()
    # As fixed headers of the generated cases, so negative cases still mutate around them.
    auth = {"Authorization": f"Bearer {admin_world.root_token}"}
    statuses: list[int] = []
    cases = schema.as_strategy(GenerationMode.POSITIVE, headers=auth) | schema.as_strategy(GenerationMode.NEGATIVE, headers=auth)

    @hypothesis.given(case=cases)
    @hypothesis.settings(
        max_examples=MIN_REQUESTS + 100, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    def exercise(case: schemathesis.Case) -> None:
        response = case.call(base_url=admin_world.api, session=session)
        statuses.append(response.status_code)
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    started = time.monotonic()
    exercise()
    elapsed = time.monotonic() - started
    assert len(statuses) >= MIN_REQUESTS, f"only {len(statuses)} requests were generated"
    assert all(status < 500 for status in statuses)
    print(f"\n{len(statuses)} requests in {elapsed:.1f} s; statuses: "
          + ", ".join(f"{s}×{statuses.count(s)}" for s in sorted(set(statuses))))
