"""The admin API docs in headless Chromium: every operation rendered, offline, no CSP violation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import expect

from authgate.admin.app import build

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one worker, one Chromium


def test_the_docs_page_renders_the_operations_under_its_policy(
    live_server: Any, page: Any, screenshot: Any
) -> None:
    origin = urlsplit(live_server.url).netloc
    problems: list[str] = []
    requested: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type in {"error", "warning"} else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(f"{live_server.url}/admin/api/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    operations = sum(
        len(route.methods)
        for route in build().routes
        if isinstance(route, APIRoute) and route.include_in_schema
    )
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.get_by_text("Delete an API", exact=True)).to_be_visible()
    screenshot("api-docs")
    assert not problems, problems
    assert all(
        urlsplit(url).netloc == origin for url in requested if not url.startswith("data:")
    ), requested
