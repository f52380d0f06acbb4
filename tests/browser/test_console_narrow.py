"""The admin console on a phone: at a 390×844 viewport no console page scrolls sideways.

Tables scroll inside their own container (or reflow); long names, identifiers and
URIs wrap. The world has realistic data with long names on every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one worker, one Chromium

# TEST FIXTURE ONLY: a throwaway admin password.
ADMIN_PASSWORD = "copper-lantern-harbour-2291"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots, gitignored
PHONE = {"width": 390, "height": 844}
LONG_API = "https://inventory-and-fulfilment.eu-central-1.internal.example-corporation.com/api/v2/warehouses"
REALM = f"""
apis:
  - identifier: {LONG_API}
    name: Inventory and fulfilment for every warehouse in the European region
    permissions: [read:warehouse-stock-levels-and-reservations, write:warehouse-stock-levels-and-reservations,
                  approve:cross-border-shipments-over-the-threshold]
roles:
  - name: regional-fulfilment-supervisor-with-cross-border-approval
    description: Approves cross-border shipments above the threshold and corrects stock levels in every warehouse
    permissions:
      {LONG_API}: [read:warehouse-stock-levels-and-reservations, approve:cross-border-shipments-over-the-threshold]
users:
  - username: maximilian.alexander.vonundzu-hohenberg-schwarzenfels
    email: maximilian.alexander.vonundzu-hohenberg-schwarzenfels@subsidiary.example-corporation.com
    name: Maximilian Alexander von und zu Hohenberg-Schwarzenfels
    roles: [regional-fulfilment-supervisor-with-cross-border-approval]
clients:
  - client_id: warehouse-scanner-handheld-application-production-eu-central
    name: Warehouse scanner handheld application (production, EU central)
    type: public
    redirect_uris: [https://scanner.eu-central-1.internal.example-corporation.com/oauth/callback/handheld-devices]
    web_origins: [https://scanner.eu-central-1.internal.example-corporation.com]
  - client_id: nightly-stock-reconciliation-batch-job-for-all-regional-warehouses
    grant_types: [client_credentials]
    permissions:
      {LONG_API}: [read:warehouse-stock-levels-and-reservations, write:warehouse-stock-levels-and-reservations]
"""


def overflow(page: Any) -> int:
    """How far the page is wider than the viewport (0: it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth")) - PHONE["width"]


@pytest.fixture
def phone(chromium: Any) -> Any:
    context = chromium.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_console_page_is_wider_than_a_phone(live_server: Any, phone: Any, backend: str, request: Any) -> None:
    bootstrap.initialize(live_server.services, admin_username="operator", admin_password=ADMIN_PASSWORD)
    with live_server.services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(REALM))
        realm.apis.update(LONG_API, name="Inventory and fulfilment for every warehouse in the European region")
    console = str(live_server.url)
    phone.goto(console + "/admin")
    assert overflow(phone) <= 0, "the hosted login the console sends to"
    phone.get_by_label("Username").fill("operator")
    phone.get_by_label("Password").fill(ADMIN_PASSWORD)
    phone.get_by_role("button", name="Sign in", exact=True).click()
    phone.wait_for_url(console + "/admin/users")

    lists = ["/admin/users", "/admin/roles", "/admin/apis", "/admin/clients", "/admin/keys", "/admin/audit"]
    pages = [*lists, "/admin/users/new", "/admin/clients/new", "/admin/keys/rotate"]
    for path in lists[:4]:  # each list's detail pages, found by following its links (not by guessing URLs)
        phone.goto(console + path)
        hrefs = phone.locator("tbody a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        pages += [href for href in hrefs if href not in pages]
    assert len(pages) > 12, pages
    too_wide = {}
    for path in pages:
        phone.goto(console + path)
        assert phone.locator("h1").count() == 1, path
        if overflow(phone) > 0:
            too_wide[path] = overflow(phone)
        if path in lists:
            ARTIFACTS.mkdir(exist_ok=True)
            phone.screenshot(path=str(ARTIFACTS / f"{request.node.name}{path.replace('/', '-')}.png"), full_page=True)
    for path in ("/account", "/account/password", "/account/consents"):  # the hosted pages, signed in
        phone.goto(console + path)
        if overflow(phone) > 0:
            too_wide[path] = overflow(phone)
    assert too_wide == {}, f"pages wider than {PHONE['width']} px, by px: {too_wide}"
