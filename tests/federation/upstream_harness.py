"""The upstream identity provider for the federation tests: npm's oidc-provider (upstream/server.js) on loopback.

Without node and npm these tests fail: they never skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from testkit import npm_install

DIRECTORY = Path(__file__).parent / "upstream"
CLIENT_ID = "authgate"
CLIENT_SECRET = "upstream-test-secret-0123456789abcdef"  # TEST-ONLY, see upstream/server.js
PASSWORDS = {name: f"upstream-{name}" for name in ("alice", "bob", "carol", "dave")}


class Upstream:
    """The node process; `restart(generation)` brings it back with a new signing key (a key rotation).

    `post_logout_redirect_uri`: registered for its RP-initiated logout (authgate's /login/idp/{alias}/logged-out).
    """

    def __init__(self, port: int, redirect_uri: str, post_logout_redirect_uri: str | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.redirect_uri = redirect_uri
        self.post_logout_redirect_uri = post_logout_redirect_uri
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, generation: int = 1) -> Upstream:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is required for the federation tests (apt-get install nodejs)")
        npm_install(DIRECTORY, "oidc-provider")
        arguments = [str(self.port), self.redirect_uri, str(generation)]
        if self.post_logout_redirect_uri:
            arguments.append(self.post_logout_redirect_uri)
        self.process = subprocess.Popen([node, "server.js", *arguments], cwd=DIRECTORY, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/.well-known/openid-configuration").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                pytest.fail(f"the upstream oidc-provider did not start: {output[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, generation: int) -> None:
        self.stop()
        self.start(generation)

    def kid(self) -> str:
        return str(httpx.get(self.url + "/jwks").json()["keys"][0]["kid"])


def sign_in_upstream(http: httpx.Client, authorization_url: str, login: str, password: str | None = None,
                     *, cancel: bool = False) -> str:
    """At the upstream's own login page: sign in (or cancel); returns the URL it sends the browser back to."""
    response = http.get(authorization_url)
    for _ in range(10):
        location = response.headers.get("location")
        if response.status_code in (302, 303) and location:
            url = urljoin(str(response.url), location)
            if "/login/idp/" in url:
                return url
            response = http.get(url)
            continue
        assert response.status_code == 200, response.text
        action = re.search(r'action="(/interaction/[^"]+/%s)"' % ("abort" if cancel else "login"), response.text)
        assert action, response.text
        data = {} if cancel else {"login": login, "password": password or PASSWORDS[login]}
        response = http.post(urljoin(str(response.url), action.group(1)), data=data)
    raise AssertionError("the upstream did not send the browser back")


def shows_login_form(http: httpx.Client, authorization_url: str) -> bool:
    """Whether the upstream asks the browser to sign in (its login form), rather than sending it straight back
    (it still has a session there)."""
    response = http.get(authorization_url)
    for _ in range(10):
        location = response.headers.get("location")
        if response.status_code in (302, 303) and location:
            url = urljoin(str(response.url), location)
            if "/login/idp/" in url:
                return False
            response = http.get(url)
            continue
        assert response.status_code == 200, response.text
        return re.search(r'action="/interaction/[^"]+/login"', response.text) is not None
    raise AssertionError("the upstream did not answer")


def confirm_upstream_logout(http: httpx.Client, end_session_url: str) -> str:
    """At the upstream's end_session_endpoint: answer its "sign out?" with yes; returns where it sends the browser."""
    page = http.get(end_session_url)
    assert page.status_code == 200, page.text
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.DOTALL)
    assert form, page.text
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(2)):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value:
            fields[name.group(1)] = value.group(1)
    answer = http.post(urljoin(str(page.url), form.group(1)), data={**fields, "logout": "yes"})
    assert answer.status_code in (302, 303), answer.text
    return urljoin(str(answer.url), answer.headers["location"])
