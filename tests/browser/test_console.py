"""The admin console in headless Chromium: log in through the hosted login, create a role, a user with it and a client.

Screenshots of each step go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from authgate import bootstrap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one worker, one Chromium

# TEST FIXTURE ONLY: passwords of throwaway accounts.
ADMIN_PASSWORD = "copper-lantern-harbour-2291"
NEW_USER_PASSWORD = "saffron-glacier-pocket-7734"


def nav(page: Any, section: str) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("link", name=section).click()


@pytest.fixture
def console(live_server: Any) -> str:
    bootstrap.initialize(live_server.services, admin_username="operator", admin_password=ADMIN_PASSWORD)
    return str(live_server.url)


def test_an_operator_logs_in_and_creates_a_role_a_user_with_it_and_a_client(
    console: str, page: Any, screenshot: Any
) -> None:
    page.goto(console + "/admin")
    page.wait_for_url(console + "/login?*")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    screenshot("hosted-login")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(console + "/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    expect(page.locator(".sidebar-foot")).to_contain_text("operator")
    screenshot("users")

    # A role, then its permissions.
    nav(page, "Roles")
    page.get_by_label("Name").fill("support")
    page.get_by_label("Description").fill("Helps users")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("status")).to_contain_text("Role support created")
    page.get_by_label("users:read").check()
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_role("status")).to_contain_text("Role support saved")
    expect(page.get_by_label("users:read")).to_be_checked()
    screenshot("role")

    # A user holding it.
    nav(page, "Users")
    page.get_by_role("link", name="Create user").click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Display name").fill("Grace Hopper")
    page.get_by_label("Password").fill(NEW_USER_PASSWORD)
    page.get_by_label("support").check()
    screenshot("new-user-form")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(console + "/admin/users/grace")
    expect(page.get_by_role("status")).to_contain_text("User grace created")
    screenshot("user-detail")
    nav(page, "Users")
    row = page.get_by_role("row").filter(has_text="grace")
    expect(row).to_contain_text("grace@example.com")
    expect(row).to_contain_text("support")
    screenshot("users-listed")

    # A confidential client: its secret is shown once.
    nav(page, "Clients")
    page.get_by_role("link", name="Create client").click()
    page.get_by_label("Client ID").fill("billing-service")
    page.get_by_label("Name (optional)").fill("Billing service")
    page.get_by_label("client_credentials").check()
    page.get_by_label("authorization_code").uncheck()
    page.get_by_label("refresh_token").uncheck()
    screenshot("client-form")
    page.get_by_role("button", name="Create client").click()
    expect(page.get_by_role("heading", name="Client created: billing-service")).to_be_visible()
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) >= 40
    screenshot("client-secret")
    page.get_by_role("link", name="Done").click()
    expect(page.locator("body")).not_to_contain_text(secret)
    nav(page, "Clients")
    expect(page.get_by_role("row").filter(has_text="billing-service")).to_contain_text("client_credentials")
    screenshot("clients-listed")

    nav(page, "Audit log")
    expect(page.get_by_role("row").filter(has_text="user:operator").first).to_be_visible()
    screenshot("audit")
