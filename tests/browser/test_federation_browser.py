"""In headless Chromium: "Continue with …" on authgate's login page, the upstream's own sign-in page
(npm's oidc-provider), and back in the coffee shop as a new user whose upstream group made them a manager."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.storage.models import User
from federation.upstream_harness import CLIENT_ID, CLIENT_SECRET, PASSWORDS, Upstream
from testkit import free_port

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one worker, one Chromium


@pytest.fixture
def corp(coffee_shop: Any) -> Iterator[Upstream]:
    """The upstream, declared in the coffee shop's realm for this test only (other tests see no button)."""
    upstream = Upstream(free_port(), f"{coffee_shop.issuer}/login/idp/corp/callback").start()
    services = coffee_shop.services
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(f"""
identity_providers:
  - alias: corp
    display_name: Corp SSO
    issuer: {upstream.url}
    client_id: {CLIENT_ID}
    client_secret: ${{CORP_SECRET}}
    scopes: [openid, email, profile, groups]
    roles_from: {{claim: groups, map: {{engineering: manager}}}}
"""), provider_secrets=services.federation.secrets, environ={"CORP_SECRET": CLIENT_SECRET})
    yield upstream
    with services.realm(actor="test") as realm:
        services.federation.providers(realm).delete("corp")
        user = realm.users.find("alice")
        if user is not None:
            realm.users.delete("alice")
    upstream.stop()


def test_continue_with_an_upstream_provider_lands_in_the_coffee_shop(coffee_shop: Any, corp: Upstream, page: Any,
                                                                    screenshot: Any) -> None:
    page.goto(coffee_shop.frontend + "/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(coffee_shop.issuer + "/login?*")
    screenshot("login-with-provider")
    page.get_by_role("link", name="Continue with Corp SSO").click()
    page.wait_for_url(corp.url + "/interaction/*")
    expect(page.get_by_role("heading", name="Sign in to the upstream provider")).to_be_visible()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORDS["alice"])
    page.get_by_role("button", name="Sign in upstream").click()
    page.wait_for_url(coffee_shop.frontend + "/")
    expect(page.locator("#who")).to_have_text("Signed in as Alice Upstream")
    # engineering → manager: the management buttons, from the permissions in authgate's own token.
    expect(page.get_by_role("button", name="Add a drink")).to_be_visible()
    expect(page.get_by_role("button", name="Delete").first).to_be_visible()
    screenshot("signed-in-through-corp")
    with coffee_shop.services.database.reader() as session:
        alice = session.scalar(select(User).where(User.username == "alice"))
        assert alice is not None and [role.name for role in alice.roles] == ["manager"]
