"""`/`: a landing page with the hosted pages' look and security headers, not a bare Not Found."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.testclient import TestClient

from authgate.settings import Settings
from authgate.web.app import create_app


def test_the_root_links_to_the_account_the_console_and_discovery(
    make_settings: Callable[..., Settings],
) -> None:
    # The page reads nothing from storage, so no database is opened (no lifespan either).
    client = TestClient(create_app(make_settings()))

    response = client.get("/")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    links = set(re.findall(r'<a href="([^"]+)"', response.text))
    assert {"/account", "/admin", "/.well-known/openid-configuration"} <= links
    assert (
        '<link rel="stylesheet" href="/static/authgate.css">' in response.text
    )  # the pages' template
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers  # nothing to protect: no form, no CSRF cookie
