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

import json
import time

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world  # noqa: F401 (admin_world: a fixture)

MIN_REQUESTS = 1000


@pytest.mark.parametrize("backend", ["postgresql"])
def test_generated_requests_get_no_server_error_and_only_declared_responses(admin_world: AdminWorld) -> None:
    schema = schemathesis.openapi.from_url(f"{admin_world.api}/openapi.json")
    session = requests.Session()
    # As fixed headers of the generated cases, so negative cases still mutate around them.
    auth = {"Authorization": f"Bearer {admin_world.root_token}"}
    statuses: list[int] = []
    positive = schema.as_strategy(GenerationMode.POSITIVE, headers=auth)
    cases = positive | schema.as_strategy(GenerationMode.NEGATIVE, headers=auth)

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


# --- every input reaching storage, against what storage holds: the same 422 on both databases ------------
# (what is wrong, method, path, JSON body, the field the 422 names).
REFUSED = [
    (
        "API identifier longer than its column",
        "POST",
        "/apis",
        {"identifier": "i" * 401},
        "identifier",
    ),
    (
        "NUL in an API identifier",
        "POST",
        "/apis",
        {"identifier": "https://fuzz.example/\x00"},
        "identifier",
    ),
    (
        "API name longer than its column",
        "POST",
        "/apis",
        {"identifier": "fuzz-api", "name": "n" * 201},
        "name",
    ),
    ("NUL in an API name", "POST", "/apis", {"identifier": "fuzz-api", "name": "a\x00b"}, "name"),
    (
        "lone surrogate in an API name",
        "POST",
        "/apis",
        {"identifier": "fuzz-api", "name": "a\ud800b"},
        "name",
    ),
    (
        "permission name longer than its column",
        "POST",
        "/apis",
        {"identifier": "fuzz-api", "permissions": ["p" * 201]},
        "permissions",
    ),
    ("username longer than its column", "POST", "/users", {"username": "u" * 151}, "username"),
    ("NUL in a username", "POST", "/users", {"username": "fuzz\x00er"}, "username"),
    (
        "user name longer than its column",
        "POST",
        "/users",
        {"username": "fuzzer", "name": "n" * 201},
        "name",
    ),
    ("NUL in a user name", "POST", "/users", {"username": "fuzzer", "name": "a\x00b"}, "name"),
    (
        "NUL in an email",
        "POST",
        "/users",
        {"username": "fuzzer", "email": "a\x00b@example.com"},
        "email",
    ),
    (
        "email longer than its column",
        "POST",
        "/users",
        {"username": "fuzzer", "email": "a@" + "b" * 400},
        "email",
    ),
    ("role name longer than its column", "POST", "/roles", {"name": "r" * 151}, "name"),
    (
        "role description longer than its column",
        "POST",
        "/roles",
        {"name": "fuzz-role", "description": "d" * 401},
        "description",
    ),
    (
        "NUL in a role description",
        "POST",
        "/roles",
        {"name": "fuzz-role", "description": "a\x00b"},
        "description",
    ),
    ("client id longer than its column", "POST", "/clients", {"client_id": "c" * 201}, "client_id"),
    ("NUL in a client id", "POST", "/clients", {"client_id": "fuzz\x00client"}, "client_id"),
    (
        "client name longer than its column",
        "POST",
        "/clients",
        {"client_id": "fuzz-client", "name": "n" * 201},
        "name",
    ),
    (
        "NUL in a client name",
        "POST",
        "/clients",
        {"client_id": "fuzz-client", "name": "a\x00b"},
        "name",
    ),
    (
        "default audience longer than its column",
        "POST",
        "/clients",
        {"client_id": "fuzz-client", "default_audience": "a" * 401},
        "default_audience",
    ),
    (
        "NUL in a redirect URI",
        "POST",
        "/clients",
        {"client_id": "fuzz-client", "redirect_uris": ["https://a.example/\x00"]},
        "redirect_uris",
    ),
    (
        "user name change longer than its column",
        "PATCH",
        "/users/root",
        {"name": "n" * 201},
        "name",
    ),
    ("NUL in a user name change", "PATCH", "/users/root", {"name": "\x00"}, "name"),
    (
        "role description change longer than its column",
        "PATCH",
        "/roles/admin",
        {"description": "d" * 401},
        "description",
    ),
    (
        "client name change longer than its column",
        "PATCH",
        "/clients/admin-script",
        {"name": "n" * 201},
        "name",
    ),
    ("NUL in a client name change", "PATCH", "/clients/admin-script", {"name": "a\x00b"}, "name"),
    ("audit cursor past the id column's range", "GET", "/audit?before=2147483648", None, "before"),
    (
        "audit cursor at the largest 64-bit integer",
        "GET",
        "/audit?before=9223372036854775807",
        None,
        "before",
    ),
    ("audit cursor past 64 bits", "GET", "/audit?before=99999999999999999999", None, "before"),
    ("audit cursor zero", "GET", "/audit?before=0", None, "before"),
    ("audit cursor negative", "GET", "/audit?before=-1", None, "before"),
    ("audit cursor in other digits", "GET", "/audit?before=%C2%B2", None, "before"),
    ("audit limit too high", "GET", "/audit?limit=501", None, "limit"),
    ("NUL in the audit subject", "GET", "/audit?subject=a%00b", None, "subject"),
    ("audit subject longer than its column", "GET", "/audit?subject=" + "s" * 201, None, "subject"),
    ("audit type longer than its column", "GET", "/audit?type=" + "t" * 61, None, "type"),
    ("user page past the last", "GET", "/users?page=1000001", None, "page"),
    ("user cursor longer than a username", "GET", "/users?after=" + "a" * 151, None, "after"),
    ("NUL in the user search", "GET", "/users?search=a%00b", None, "search"),
]


def test_input_storage_cannot_hold_is_refused_with_422(admin_world: AdminWorld) -> None:
    """One server per database for the whole table; each refusal leaves the admin changes as they
    were (only `admin.change` is compared: token.issued events are written in batches)."""
    failures = []
    changes = {"type": "admin.change", "limit": 1}
    with admin_world.client(admin_world.root_token) as client:
        for problem, method, path, body, field in REFUSED:
            before = client.get("/audit", params=changes).json()["items"]
            # json.dumps escapes a lone surrogate (\\ud800): valid JSON text httpx would not encode.
            response = client.request(
                method,
                path,
                content=json.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/json"},
            )
            answer = (
                response.json()
                if response.headers.get("content-type") == "application/json"
                else {}
            )
            if (
                response.status_code != 422
                or answer.get("error") != "invalid_input"
                or answer.get("field") != field
            ):
                failures.append(f"{problem}: {response.status_code} {response.text[:200]}")
            elif client.get("/audit", params=changes).json()["items"] != before:
                failures.append(f"{problem}: refused, but audited (so something was written)")
    assert not failures, f"{len(failures)} of {len(REFUSED)}:\n" + "\n".join(failures)


def test_values_at_the_limits_of_their_columns_are_accepted(admin_world: AdminWorld) -> None:
    """The largest audit id is a cursor; an API identifier longer than a name gets a name that fits
    (the name defaults to the identifier: identifiers hold 400 characters, names 200)."""
    identifier = "https://fuzz.example/" + "i" * 379
    with admin_world.client(admin_world.root_token) as client:
        page = client.get("/audit", params={"before": 2**31 - 1, "limit": 500})
        created = client.post("/apis", json={"identifier": identifier})
        listed = [api for api in client.get("/apis").json() if api["identifier"] == identifier]
        events = client.get("/audit", params={"type": "admin.change", "limit": 5}).json()["items"]
    assert page.status_code == 200 and page.json()["items"], page.text
    assert created.status_code == 201, created.text
    assert created.json()["identifier"] == identifier and created.json()["name"] == identifier[:200]
    assert len(listed) == 1
    assert any(
        event["subject"] == identifier[:200] for event in events
    )  # audited, cut to the subject column


CONSOLE_QUERIES = [
    ("/admin/audit", {"before": "2147483648"}),
    ("/admin/audit", {"before": "99999999999999999999"}),
    ("/admin/audit", {"before": "²"}),
    ("/admin/audit", {"subject": "a\x00b"}),
    ("/admin/audit", {"type": "t" * 500}),
    ("/admin/users", {"page": "²"}),
    ("/admin/users", {"page": "99999999999"}),
    ("/admin/users", {"after": "a\x00b"}),
    ("/admin/users", {"q": "q" * 1000}),
]


def test_console_pages_read_numbers_and_text_within_their_columns(admin_world: AdminWorld) -> None:
    """The console's own query parameters: out of range or unstorable, ignored, never a 500."""
    from test_admin_console import log_in

    browser, _landed = log_in(admin_world, "root", ROOT_PASSWORD)
    try:
        answers = [
            (path, params, browser.get(path, params=params)) for path, params in CONSOLE_QUERIES
        ]
    finally:
        browser.close()
    assert [(path, params) for path, params, page in answers if page.status_code != 200] == []
