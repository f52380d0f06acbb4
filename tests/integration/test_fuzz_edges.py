"""Malformed input at every protocol endpoint and hosted form: no 5xx, its place's error, no row.

Each probe below is one place (an endpoint, a page) with a request that is
valid apart from one parameter; every parameter in turn gets every class of
malformed value (NUL bytes, control characters, invalid UTF-8 percent-encoded
and raw, CESU-8 surrogates, over-long text, out-of-range numbers). Headers
(X-Forwarded-For behind a trusted proxy, Authorization Basic and Bearer) and
cookies get their own table. The answer must be below 500 and in the place's
standard shape: OAuth JSON `error` (RFC 6749 §5.2), a page (HTML) or a
redirect. Afterwards no stored row holds any of the malformed values.

One server per backend for the module (as the other page tests); the whole
module runs in well under a minute on both databases.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import pytest
from oidc_client.flow import PARTNER_SECRET, SPA_REDIRECT, BrowserLike, Flow
from oidc_client.servers import serve_world
from sqlalchemy import String, Text, select

from authgate.http import csrf, sessions
from authgate.masterkey import derived_key
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.storage.models import (
    AuditEvent,
    AuthorizationCode,
    BrowserSession,
    Consent,
    ConsoleSession,
    LoginThrottle,
    RefreshToken,
    User,
)

pytestmark = pytest.mark.xdist_group("test_fuzz_edges")

# TEST FIXTURE ONLY: the machine client's secret.
MACHINE_SECRET = "fuzz-machine-secret-for-tests-only-0123456789"
EXTRA_REALM = f"""
clients:
  - client_id: fuzz-password
    type: public
    grant_types: [password, refresh_token]
    default_audience: https://coffee.example/api
  - client_id: fuzz-machine
    type: confidential
    client_secret: {MACHINE_SECRET}
    grant_types: [client_credentials]
    default_audience: https://coffee.example/api
    permissions: {{https://coffee.example/api: [get:drinks]}}
"""
CSRF = "fuzz-csrf-token-" + "c" * 32
LONG = "x" * 5000

# Each malformed value as it goes on the wire (already form-encoded); `raw` ones only fit in a body.
BAD: dict[str, bytes] = {
    "nul": b"ab%00cd",
    "raw-nul": b"ab\x00cd",
    "control": b"ab%01%1B%7Fcd",
    "invalid-utf8": b"%FF%FE%C0%80",
    "raw-invalid-utf8": b"ab\xff\xfe\xc0\x80",
    "surrogate": b"%ED%A0%80",
    "long": LONG.encode(),
    "huge-number": b"99999999999999999999",
    "int4-overflow": b"2147483648",
}
RAW = {"raw-nul", "raw-invalid-utf8"}
# Appended to the parameter's valid value instead (a return_to must start like one to get anywhere).
SUFFIXES: dict[str, bytes] = {
    "nul-suffix": b"%00",
    "control-suffix": b"%0B",
    "long-suffix": LONG.encode(),
}
# What a stored value must never contain after the run (besides being longer than its column).
FORBIDDEN = ("\x00", "\x01", "\x1b", "\x7f", "\ufffd")

OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "invalid_token",
    "insufficient_scope",
}


@dataclass(frozen=True)
class Probe:
    place: str  # "oauth" (JSON errors), "page" (HTML or a redirect)
    method: str
    path: str
    base: dict[str, str]
    fuzz: tuple[str, ...]
    session: bool = False  # sent with a logged-in browser session
    csrf: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


AUTHORIZE = {
    **Flow().params(),
    "prompt": "",
    "max_age": "",
    "login_hint": "",
    "id_token_hint": "",
    "claims": "",
    "response_mode": "",
    "resource": "",
    "acr_values": "",
}
AUTHORIZE_FUZZ = tuple(AUTHORIZE)
CODE = {
    "grant_type": "authorization_code",
    "client_id": "coffee-spa",
    "code": "not-a-code",
    "redirect_uri": SPA_REDIRECT,
    "code_verifier": "v" * 43,
    "scope": "",
    "resource": "",
    "audience": "",
}
PROBES = [
    Probe("oauth", "POST", "/oauth/token", CODE, (*CODE, "client_secret")),
    Probe(
        "oauth",
        "POST",
        "/oauth/token",
        {"grant_type": "refresh_token", "client_id": "coffee-spa", "refresh_token": "x"},
        ("refresh_token", "scope", "client_id"),
    ),
    Probe(
        "oauth",
        "POST",
        "/oauth/token",
        {
            "grant_type": "password",
            "client_id": "fuzz-password",
            "username": "barista",
            "password": "not-the-password",
            "scope": "",
            "audience": "",
        },
        ("username", "password", "scope", "audience", "client_id"),
    ),
    Probe(
        "oauth",
        "POST",
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "", "audience": "", "resource": ""},
        ("scope", "audience", "resource"),
        headers=basic("fuzz-machine", MACHINE_SECRET),
    ),
    Probe(
        "oauth",
        "POST",
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": "fuzz-machine",
            "client_secret": MACHINE_SECRET,
        },
        ("client_id", "client_secret"),
    ),
    Probe(
        "oauth",
        "POST",
        "/oauth/introspect",
        {
            "client_id": "partner",
            "client_secret": PARTNER_SECRET,
            "token": "t",
            "token_type_hint": "",
        },
        ("client_id", "client_secret", "token", "token_type_hint"),
    ),
    Probe(
        "oauth",
        "POST",
        "/oauth/revoke",
        {"client_id": "coffee-spa", "token": "t", "token_type_hint": ""},
        ("client_id", "token", "token_type_hint"),
    ),
    Probe("page", "GET", "/authorize", AUTHORIZE, AUTHORIZE_FUZZ),
    Probe("page", "GET", "/authorize", AUTHORIZE, AUTHORIZE_FUZZ, session=True),
    Probe("page", "POST", "/authorize", AUTHORIZE, AUTHORIZE_FUZZ, session=True),
    Probe(
        "page",
        "GET",
        "/logout",
        {
            "id_token_hint": "",
            "client_id": "coffee-spa",
            "post_logout_redirect_uri": "http://127.0.0.1:5000/",
            "state": "s",
        },
        ("id_token_hint", "client_id", "post_logout_redirect_uri", "state"),
    ),
    Probe(
        "page",
        "POST",
        "/logout",
        {
            "client_id": "coffee-spa",
            "post_logout_redirect_uri": "http://127.0.0.1:5000/",
            "state": "s",
            "csrf_token": CSRF,
        },
        ("client_id", "state", "csrf_token"),
        csrf=True,
    ),
    Probe("oauth", "POST", "/userinfo", {"access_token": "a.b.c"}, ("access_token",)),
    Probe("page", "GET", "/.well-known/openid-configuration", {"x": "1"}, ("x",)),
    Probe("page", "GET", "/.well-known/jwks.json", {"x": "1"}, ("x",)),
    Probe(
        "page",
        "GET",
        "/login",
        {"return_to": Flow().url(), "login_hint": "bea"},
        ("return_to", "login_hint"),
    ),
    Probe(
        "page",
        "POST",
        "/login",
        {
            "username": "barista",
            "password": "not-the-password",
            "return_to": Flow().url(),
            "csrf_token": CSRF,
        },
        ("username", "password", "return_to", "csrf_token"),
        csrf=True,
    ),
    Probe("page", "GET", "/register", {"return_to": "/account"}, ("return_to",)),
    Probe(
        "page",
        "POST",
        "/register",
        {
            "username": "{user}",
            "email": "{user}@example.com",
            "name": "New Person",
            "password": "a-long-enough-passphrase-9182",
            "return_to": "/account",
            "csrf_token": CSRF,
        },
        ("username", "email", "name", "password", "return_to"),
        csrf=True,
    ),
    Probe(
        "page",
        "GET",
        "/consent",
        {"return_to": Flow(client_id="partner", redirect_uri="https://partner.example/cb").url()},
        ("return_to",),
        session=True,
    ),
    Probe(
        "page",
        "POST",
        "/consent",
        {
            "return_to": Flow(client_id="partner", redirect_uri="https://partner.example/cb").url(),
            "decision": "deny",
            "csrf_token": CSRF,
        },
        ("return_to", "decision"),
        session=True,
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/account/password",
        {
            "current_password": "not-the-password",
            "new_password": "another-long-phrase-5521",
            "csrf_token": CSRF,
        },
        ("current_password", "new_password"),
        session=True,
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/account/consents/revoke",
        {"client_id": "partner", "csrf_token": CSRF},
        ("client_id",),
        session=True,
        csrf=True,
    ),
    Probe("page", "GET", "/admin/login", {"next": "/admin/users"}, ("next",)),
    # Email flows (forgotten password, verification, invitations): links carry a token, forms a code.
    Probe("page", "GET", "/password/reset", {"token": "t" * 43}, ("token",)),
    Probe("page", "GET", "/email/verify", {"token": "t" * 43}, ("token",)),
    Probe("page", "GET", "/invitation", {"token": "t" * 43}, ("token",)),
    Probe(
        "page",
        "POST",
        "/password/forgot",
        {"email": "{user}@example.com", "csrf_token": CSRF},
        ("email",),
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/password/reset",
        {"token": "t" * 43, "password": "a-long-enough-passphrase-9182", "csrf_token": CSRF},
        ("token", "password"),
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/password/reset",
        {
            "email": "{user}@example.com",
            "code": "ABCD2345",
            "password": "a-long-enough-passphrase-9182",
            "csrf_token": CSRF,
        },
        ("email", "code", "password"),
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/email/verify",
        {"email": "{user}@example.com", "code": "ABCD2345", "csrf_token": CSRF},
        ("email", "code", "token"),
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/invitation",
        {"token": "t" * 43, "password": "a-long-enough-passphrase-9182", "csrf_token": CSRF},
        ("token", "password"),
        csrf=True,
    ),
    Probe(
        "page",
        "POST",
        "/account/email",
        {"email": "{user}@example.com", "csrf_token": CSRF},
        ("email",),
        session=True,
        csrf=True,
    ),
]

# Headers, each on the request it reaches storage through.
HEADER_VALUES = {
    "long": LONG,
    "garbage": "not-an-address",
    "latin1": "1.2.3.4\xff",
    "scoped-ipv6": "fe80::1%" + "x" * 200,
    "many-hops": ", ".join(["10.0.0.1"] * 300),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    yield from serve_world(
        request,
        tmp_path_factory.mktemp("fuzz"),
        registration_enabled=True,
        trusted_proxies=["127.0.0.1/32"],
        lockout_pair_threshold=10_000,
        lockout_account_threshold=10_000,
        lockout_ip_threshold=10_000,
    )


@pytest.fixture(scope="module")
def world(live_server: Any) -> Any:
    with live_server.services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(EXTRA_REALM))
    return live_server


def logged_in(url: str, username: str) -> BrowserLike:
    browser = BrowserLike(url)
    response = browser.submit_login(browser.get(Flow().url()).headers["location"], username)
    assert response.status_code == 303, response.text
    return browser


def encode(params: dict[str, str], name: str, bad: bytes, *, suffix: bool = False) -> bytes:
    """The form-encoded parameters with `name` set to `bad` (or to its value followed by `bad`)."""
    pairs = [
        f"{quote_plus(key)}={quote_plus(value)}".encode()
        for key, value in params.items()
        if key != name and value
    ]
    prefix = quote_plus(params.get(name, "")).encode() if suffix else b""
    return b"&".join([*pairs, name.encode() + b"=" + prefix + bad])


def malformed(method: str) -> Iterator[tuple[str, bytes, bool]]:
    """(kind, bytes, appended?) for each class of malformed value a `method` request can carry."""
    for kind, bad in BAD.items():
        if kind not in RAW or method == "POST":
            yield kind, bad, False
    for kind, bad in SUFFIXES.items():
        yield kind, bad, True


def problem(place: str, response: httpx.Response) -> str | None:
    """What is wrong with the answer, or None when it is the standard one for its place."""
    status = response.status_code
    if status >= 500:
        return f"{status}"
    if place == "oauth" and status >= 400:
        try:
            error = response.json().get("error")
        except ValueError:
            return f"{status} without a JSON body"
        if error not in OAUTH_ERRORS and not (
            status == 401 and response.headers.get("www-authenticate")
        ):
            return f"{status} error={error!r}"
    if (
        place == "page"
        and status >= 400
        and not response.headers.get("content-type", "").startswith(
            ("text/html", "application/json")
        )
    ):
        return f"{status} {response.headers.get('content-type')}"
    if 300 <= status < 400 and not response.headers.get("location"):
        return f"{status} without a Location"
    return None


def send(
    world: Any, http: httpx.Client, probe: Probe, name: str, bad: bytes, suffix: bool, user: str
) -> httpx.Response:
    params = {key: value.replace("{user}", user) for key, value in probe.base.items()}
    if probe.csrf:  # this browser's genuine token, so the probe reaches the field it fuzzes
        params["csrf_token"] = genuine_csrf(world, http)
    encoded = encode(params, name, bad, suffix=suffix)
    headers = dict(probe.headers)
    if probe.csrf:
        headers["Cookie"] = "; ".join(
            filter(None, [http.headers.get("Cookie"), f"authgate_csrf={CSRF}"])
        )
    if probe.method == "GET":
        return http.request("GET", probe.path + "?" + encoded.decode("latin-1"), headers=headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return http.request("POST", probe.path, content=encoded, headers=headers)


def genuine_csrf(world: Any, http: httpx.Client) -> str:
    """The form token the server expects with cookie CSRF and this client's hosted session."""
    settings = world.services.settings
    session = http.cookies.get(sessions.cookie_name(settings.issuer)) or ""
    return csrf.token_of(derived_key(settings, csrf.KEY_PURPOSE), CSRF, session)


def test_malformed_parameters_get_the_places_own_error(world: Any) -> None:
    anonymous = httpx.Client(base_url=world.url, follow_redirects=False, timeout=30)
    browsers = {
        "barista": logged_in(world.url, "barista"),
        "manager": logged_in(world.url, "manager"),
    }
    users = (f"fz{n}" for n in itertools.count())
    failures: list[str] = []
    requests = 0
    for probe in PROBES:
        for name in probe.fuzz:
            for kind, bad, suffix in malformed(probe.method):
                browser = browsers["manager" if probe.path.startswith("/account") else "barista"]
                http = browser.http if probe.session else anonymous
                if probe.csrf and probe.session:
                    http.cookies.set("authgate_csrf", CSRF)
                requests += 1
                try:
                    answer = send(world, http, probe, name, bad, suffix, next(users))
                    found = problem(probe.place, answer)
                except httpx.TransportError as error:  # the server dropped the connection
                    found = f"no answer ({error!r})"
                if found:
                    failures.append(f"{probe.method} {probe.path} {name}={kind}: {found}")
    anonymous.close()
    for browser in browsers.values():
        browser.close()
    assert not failures, f"{len(failures)} of {requests} requests:\n" + "\n".join(failures)
    assert_nothing_malformed_stored(world)


@pytest.mark.parametrize("kind", list(HEADER_VALUES))
def test_forwarded_for_that_is_not_one_address_is_not_stored(world: Any, kind: str) -> None:
    """X-Forwarded-For from a trusted proxy lands in login_throttles.key and audit_events.ip."""
    headers = {
        "X-Forwarded-For": HEADER_VALUES[kind].encode("latin-1"),
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"authgate_csrf={CSRF}",
    }
    with httpx.Client(base_url=world.url, follow_redirects=False, timeout=30) as http:
        answers = [
            http.post(
                "/login",
                content=urlencode(
                    {"username": "other", "password": "wrong-password",
                     "csrf_token": genuine_csrf(world, http)}
                ),
                headers=headers,
            ),
            http.post(
                "/oauth/token",
                content=urlencode(
                    {
                        "grant_type": "password",
                        "client_id": "fuzz-password",
                        "username": "other",
                        "password": "wrong-password",
                    }
                ),
                headers=headers,
            ),
            http.post(
                "/oauth/token",
                content=urlencode({"grant_type": "client_credentials"}),
                headers={**headers, **basic("fuzz-machine", MACHINE_SECRET)},
            ),
        ]
    assert [
        problem("page", answers[0]),
        problem("oauth", answers[1]),
        problem("oauth", answers[2]),
    ] == [None] * 3
    assert answers[0].status_code == 401 and answers[1].json()["error"] == "invalid_grant"
    assert answers[2].status_code == 200, answers[2].text
    with world.services.database.reader() as session:
        ips = set(session.scalars(select(AuditEvent.ip).where(AuditEvent.ip.is_not(None))))
        keys = set(session.scalars(select(LoginThrottle.key)))
    assert not {ip for ip in ips if ip not in ("127.0.0.1", "10.0.0.1")}, ips
    assert all(
        len(key) <= 300 and "not-an-address" not in key and "xxxx" not in key for key in keys
    )


BASIC_PAYLOADS = {
    "nul-id": base64.b64encode(b"coffee%00spa:secret"),
    "raw-nul-id": base64.b64encode(b"coffee\x00spa:secret"),
    "long-id": base64.b64encode(LONG.encode() + b":secret"),
    "invalid-utf8": base64.b64encode(b"\xff\xfe:\xc0\x80"),
    "pct-invalid-utf8": base64.b64encode(b"%FF%FE:%C0%80"),
    "surrogate": base64.b64encode(b"%ED%A0%80:secret"),
    "not-base64": b"%%%%",
}


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_malformed_basic_credentials_are_an_unknown_client(world: Any, path: str) -> None:
    body = {"/oauth/token": "grant_type=client_credentials"}.get(path, "token=t")
    with httpx.Client(base_url=world.url, timeout=30) as http:
        for kind, payload in BASIC_PAYLOADS.items():
            response = http.post(
                path,
                content=body,
                headers={
                    "Authorization": "Basic " + payload.decode(),
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            assert response.status_code == 401, (kind, response.status_code, response.text)
            assert response.json()["error"] == "invalid_client", kind  # RFC 6749 §5.2
            assert response.headers["www-authenticate"].startswith("Basic"), kind


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_a_client_id_no_client_can_have_is_an_unknown_client(world: Any, path: str) -> None:
    """Too long for the column: simply unknown (RFC 6749 §5.2 invalid_client). NUL: malformed."""
    body = {"/oauth/token": {"grant_type": "client_credentials"}}.get(path, {"token": "t"})
    with httpx.Client(base_url=world.url, timeout=30) as http:
        confidential = http.post(
            path, data={**body, "client_id": "c" * 201, "client_secret": "s" * 40}
        )
        public = http.post(path, data={**body, "client_id": "c" * 5000})
        nul = http.post(path, data={**body, "client_id": "coffee\x00spa"})
    assert (confidential.status_code, confidential.json()["error"]) == (401, "invalid_client")
    assert (public.status_code, public.json()["error"]) == (401, "invalid_client")
    assert (nul.status_code, nul.json()["error"]) == (400, "invalid_request")  # RFC 6749 Appendix A


@pytest.mark.parametrize("kind", ["long", "latin1", "garbage"])
def test_malformed_cookies_and_bearer_tokens_are_no_session(world: Any, kind: str) -> None:
    value = {"long": LONG, "latin1": "ab\xffcd", "garbage": "a b;c"}[kind]
    cookie = "; ".join(
        f"{name}={value}" for name in ("authgate_session", "authgate_csrf", "authgate_console")
    ).encode("latin-1")
    with httpx.Client(base_url=world.url, follow_redirects=False, timeout=30) as http:
        pages = [
            http.get(path, headers={"Cookie": cookie})
            for path in ("/account", "/admin/users", Flow().url(), "/logout")
        ]
        for response in pages:
            assert problem("page", response) is None and response.status_code in (200, 303), (
                response.status_code
            )
        bearer = {"Authorization": ("Bearer " + value).encode("latin-1")}
        info = http.get("/userinfo", headers=bearer)
        admin = http.get("/admin/api/users", headers=bearer)
    # RFC 6750 §3.1: a malformed header may be invalid_request (400) or an invalid token (401).
    for response in (info, admin):
        challenge = response.headers.get("www-authenticate", "")
        assert (response.status_code == 401 and "invalid_token" in challenge) or (
            response.status_code == 400 and response.json()["error"] == "invalid_request"
        ), response.text


def test_console_login_with_malformed_callback_parameters(world: Any) -> None:
    with httpx.Client(base_url=world.url, follow_redirects=False, timeout=30) as http:
        start = http.get("/admin/login")
        assert start.status_code == 303
        state = httpx.URL(start.headers["location"]).params["state"]
        for name in ("code", "iss", "error", "state"):
            for kind, bad, suffix in malformed("GET"):
                params = {"state": state, "code": "c"}
                query = encode(params, name, bad, suffix=suffix).decode("latin-1")
                response = http.get("/admin/callback?" + query)
                assert problem("page", response) is None, (name, kind, response.status_code)
                assert response.status_code == 400, (name, kind)
    assert_nothing_malformed_stored(world)


def assert_nothing_malformed_stored(world: Any) -> None:
    models = (
        AuditEvent,
        LoginThrottle,
        BrowserSession,
        ConsoleSession,
        User,
        AuthorizationCode,
        RefreshToken,
        Consent,
    )
    found: list[str] = []
    with world.services.database.reader() as session:
        for model in models:
            columns = [c for c in model.__table__.columns if isinstance(c.type, String | Text)]
            for row in session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    too_long = (
                        isinstance(column.type, String)
                        and column.type.length
                        and len(value or "") > column.type.length
                    )
                    if isinstance(value, str) and (
                        too_long or any(bad in value for bad in FORBIDDEN)
                    ):
                        found.append(f"{model.__tablename__}.{column.name}={value[:60]!r}")
    assert not found, found


def test_probes_cover_every_endpoint_the_discovery_document_lists(world: Any) -> None:
    document = httpx.get(world.url + "/.well-known/openid-configuration").json()
    endpoints = {
        value.removeprefix(world.url)
        for key, value in document.items()
        if key.endswith("_endpoint")
    }
    endpoints.add(document["jwks_uri"].removeprefix(world.url))
    probed = {probe.path for probe in PROBES}
    assert endpoints <= probed, endpoints - probed
