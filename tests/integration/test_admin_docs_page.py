"""/admin/api/docs: Swagger UI from this server only, under the pages' security headers."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx

from testkit import LiveServer


def test_the_docs_page_loads_only_same_origin_assets_with_the_security_headers(
    live_server: LiveServer,
) -> None:
    page = httpx.get(f"{live_server.url}/admin/api/docs", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self';" in policy
        and "default-src 'none'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text, "no inline script: the policy would block it"
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(references) == 4, references
    content_types = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for reference in references:
        url = urljoin(str(page.url), reference)
        assert urlsplit(url).netloc == urlsplit(live_server.url).netloc, (
            f"{reference} is not same-origin"
        )
        asset = httpx.get(url, timeout=30)
        assert asset.status_code == 200, reference
        expected = content_types[reference[reference.rindex(".") :]]
        assert expected in asset.headers["content-type"], (reference, asset.headers["content-type"])
        assert asset.headers["x-content-type-options"] == "nosniff"
    openapi = httpx.get(f"{live_server.url}/admin/api/openapi.json", timeout=30)
    assert openapi.status_code == 200 and openapi.json()["info"]["title"] == "authgate admin API"


def test_only_the_two_assets_of_the_bundle_are_served(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.url}/admin/api/docs", timeout=30).text
    bundle = re.search(r'src="(/admin/api/docs/swagger-ui-[0-9.]+)/swagger-ui-bundle\.js"', page)
    assert bundle, page
    for other in (
        "index.j2",
        "swagger-initializer.js",
        "swagger-ui-bundle.js.map",
        "..%2F__init__.py",
    ):
        refused = httpx.get(f"{live_server.url}{bundle.group(1)}/{other}", timeout=30)
        assert refused.status_code == 404 and refused.json()["error"] == "not_found", other
