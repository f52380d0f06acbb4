"""The coffee shop end to end in headless Chromium: hosted login, role-driven UI, API calls, refresh, logout."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

PASSWORDS = {"barista": "espresso-tamper-crema-1977", "manager": "menu-board-latte-art-2024"}  # TEST FIXTURE ONLY

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]  # one worker, one Chromium


def log_in(page: Any, shop: Any, username: str, screenshot: Any | None = None) -> None:
    page.goto(shop.frontend + "/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(shop.issuer + "/login?*")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    if screenshot:
        screenshot("login-page")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(shop.frontend + "/")
    expect(page.locator("#who")).to_contain_text("Signed in as")


def test_barista_sees_recipes_is_refused_a_post_refreshes_and_logs_out(
    coffee_shop: Any, page: Any, screenshot: Any
) -> None:
    log_in(page, coffee_shop, "barista", screenshot)
    expect(page.locator("#who")).to_have_text("Signed in as Bea Barista")
    expect(page.locator("#permissions")).to_have_text("get:drinks, get:drinks-detail")
    expect(page.locator(".drink").first).to_contain_text("water")  # ingredient names: the detail endpoint
    expect(page.get_by_role("button", name="Add a drink")).to_be_hidden()
    expect(page.locator("#drink-form")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    screenshot("barista-menu")

    page.get_by_text("Try something you may not do").click()
    page.get_by_role("button", name="Send POST /drinks anyway").click()
    expect(page.locator("#status")).to_contain_text("POST /drinks refused: 403")
    screenshot("barista-refused")

    first_token = page.evaluate("() => document.getElementById('expires').textContent")
    page.get_by_role("button", name="Refresh tokens now").click()
    expect(page.locator("#status")).to_have_text("Tokens refreshed.")
    expect(page.locator("#refresh-count")).to_have_text("1")
    page.get_by_role("button", name="Refresh tokens now").click()  # the rotated token works again
    expect(page.locator("#refresh-count")).to_have_text("2")
    assert first_token

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(coffee_shop.frontend + "/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    screenshot("logged-out")
    # The authgate session ended too: logging in again asks for the password.
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(coffee_shop.issuer + "/login?*")


def test_manager_gets_the_management_buttons_and_adds_a_drink(coffee_shop: Any, page: Any, screenshot: Any) -> None:
    log_in(page, coffee_shop, "manager")
    expect(page.locator("#who")).to_have_text("Signed in as Max Manager")
    expect(page.get_by_role("button", name="Delete").first).to_be_visible()
    expect(page.get_by_role("button", name="Rename").first).to_be_visible()
    page.get_by_role("button", name="Add a drink").click()
    page.get_by_label("Title").fill("Flat white")
    page.get_by_label("Ingredient").fill("milk")
    page.get_by_role("button", name="Save drink").click()
    expect(page.locator("#status")).to_have_text("Drink added.")
    expect(page.locator(".drink", has_text="Flat white")).to_be_visible()
    screenshot("manager-menu")
    page.locator(".drink", has_text="Flat white").get_by_role("button", name="Delete").click()
    expect(page.locator(".drink", has_text="Flat white")).to_have_count(0)


def test_hosted_login_works_with_keyboard_only_and_shows_errors_accessibly(
    coffee_shop: Any, page: Any, screenshot: Any
) -> None:
    page.goto(coffee_shop.frontend + "/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(coffee_shop.issuer + "/login?*")
    expect(page.get_by_label("Username")).to_be_focused()  # autofocus on the first field
    page.keyboard.type("barista")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("not-the-password")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("The username or password is incorrect.")
    screenshot("login-error")
