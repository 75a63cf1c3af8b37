"""The security center in Chromium: the compact settings page, "This wasn't me", an app's own page, and the
security activity page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.web.browser import DESKTOP, PHONE, PageErrors, browser, demo, new_context, sign_in

__all__ = ["browser", "demo"]  # fixtures, imported so pytest finds them here
NEW_PASSWORD = "plum tiger seventeen ladders"


def _height(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollHeight"))


def test_the_settings_page_is_compact_on_a_desktop_and_a_phone(browser: Browser, demo: LiveServer) -> None:
    """The demo's 4 apps and 5 sessions take one row each: the page was 3,488 px tall on a desktop and 4,684 px on a
    phone (with 3 apps); now the lists fit on about one desktop screen, and details open on demand."""
    for viewport, limit in ((DESKTOP, 1200), (PHONE, 2200)):
        page = new_context(browser, viewport=viewport).new_page()
        errors = PageErrors(page)
        sign_in(page, demo.url)
        expect(page.locator("[data-list=apps] > li")).to_have_count(4)
        assert _height(page) <= limit, (viewport, _height(page))
        assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport["width"]
        buffered = page.locator("[data-list=apps] > li").filter(has_text="Buffered")
        expect(buffered.get_by_text("Upload media", exact=True)).to_be_hidden()
        buffered.get_by_text("Details").click()
        expect(buffered.get_by_text("Upload media", exact=True)).to_be_visible()
        assert errors.messages == []


def test_this_wasnt_me_logs_everything_else_out_and_asks_for_a_new_password(
    browser: Browser, demo: LiveServer,
) -> None:
    """Next to a session the person does not recognise: confirm, and every other session and app ends; only the
    password form is left until a new password is chosen; the timeline says what happened."""
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    sign_in(page, demo.url)
    other = new_context(browser).new_page()
    sign_in(other, demo.url)
    page.reload()

    page.get_by_role("button", name="This wasn't me: iPhone, Mobile Safari 17.5 on iOS 17.5").click()
    dialog = page.get_by_role("dialog", name="Secure your account?")
    expect(dialog).to_contain_text("You did not sign in on Mobile Safari on iOS in United Kingdom")
    expect(dialog.get_by_label("Also revoke every connected app")).to_be_checked()
    dialog.get_by_role("button", name="Secure my account").click()
    page.wait_for_url(f"{demo.url}/settings/password")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account settings")).to_have_count(0)
    page.goto(f"{demo.url}/settings")
    expect(page).to_have_url(f"{demo.url}/settings/password")

    other.goto(f"{demo.url}/settings")
    expect(other).to_have_url(re.compile(r"/login\?next="))

    page.get_by_label("Current password").fill("apps-and-sessions")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was changed.")
    page.get_by_role("link", name="Back to Apps and sessions").click()
    expect(page).to_have_url(f"{demo.url}/settings")
    expect(page.get_by_text("No connected apps")).to_be_visible()
    expect(page.locator("[data-list=sessions] > li")).to_have_count(1)

    page.get_by_role("link", name="Security activity").click()
    expect(page.locator(".timeline-summary").first).to_have_text(re.compile(r"^Changed the password"))
    expect(page.locator(".timeline-summary").nth(1)).to_have_text(re.compile(
        r"^Secured the account \(\u201cThis wasn\u2019t me\u201d\): 5 sessions, 2 access tokens and 1 refresh token "
        r"ended, 4 apps revoked"))
    assert errors.messages == []


def test_an_apps_page_revokes_access_from_the_bottom_and_gives_the_receipt(browser: Browser, demo: LiveServer) -> None:
    """From the app's name to its page; Revoke access is the last thing on it; the page says what ended."""
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    sign_in(page, demo.url)
    page.get_by_role("link", name="Buffered", exact=True).click()
    expect(page).to_have_url(re.compile(r"/settings/apps/"))
    expect(page.get_by_role("heading", name="Buffered", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Privacy policy")).to_have_attribute("href", "https://buffered.example/privacy")
    revoke = page.get_by_role("button", name="Revoke access")
    last_button = page.locator("main button:visible").last
    expect(last_button).to_have_text("Revoke access")
    revoke.click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
    expect(page.locator("[data-revoked]")).to_have_text(
        "Buffered no longer has access to your account. 1 access token and 1 refresh token stopped working.")
    page.get_by_role("link", name="Apps and sessions").first.click()
    expect(page.locator("[data-list=apps] > li h3")).to_have_text(
        ["Postwise Reader", "Threadline Desktop", "Inbox Zero for DMs"])
    assert errors.messages == []


def test_the_security_activity_page_filters_by_kind(browser: Browser, demo: LiveServer) -> None:
    """Sign-ins and an app revoked show up in words; "Apps" keeps only the app."""
    page = new_context(browser).new_page()
    sign_in(page, demo.url)
    page.get_by_role("button", name="Revoke access for Postwise Reader").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
    expect(page.get_by_role("status")).to_contain_text("Postwise Reader no longer has access")
    page.goto(f"{demo.url}/settings/security")
    expect(page.locator(".timeline-summary")).to_have_text([
        re.compile(r"^Revoked access for Postwise Reader, from HeadlessChrome on Linux, Local network$"),
        re.compile(r"^Signed in: HeadlessChrome on Linux, Local network$"),
    ])
    page.get_by_role("link", name="Apps", exact=True).click()
    expect(page.locator(".timeline-summary")).to_have_count(1)
    expect(page.get_by_role("link", name="Apps", exact=True)).to_have_attribute("aria-current", "true")
