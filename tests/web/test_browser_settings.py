"""The "Apps and sessions" page in Chromium: what the demo person sees, and what every button does."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import LiveServer
from tests.web.browser import PHONE, PageErrors, browser, demo, new_context, sign_in

__all__ = ["browser", "demo"]  # fixtures, imported so pytest finds them here


def _app(page: Page, name: str) -> Locator:
    return page.locator("[data-list=apps] > li").filter(has=page.get_by_role("heading", name=name, exact=True))


def _session(page: Page, device: str) -> Locator:
    return page.locator("[data-list=sessions] > li").filter(has=page.get_by_role("heading", name=device))


def test_settings_lists_the_demo_apps_with_permissions_and_the_sessions(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    sign_in(page, demo.url)

    expect(page).to_have_title("Apps and sessions · Consentry")
    # Most recently used first.
    expect(page.locator("[data-list=apps] > li h3")).to_have_text(
        ["Buffered", "Postwise Reader", "Threadline Desktop", "Inbox Zero for DMs"])
    buffered = _app(page, "Buffered")
    expect(buffered).to_contain_text("Read and Write")
    for name in ("Buffered", "Postwise Reader", "Threadline Desktop", "Inbox Zero for DMs"):  # details on demand
        _app(page, name).locator("summary").first.click()
    expect(buffered).to_contain_text("By Buffered Inc.")
    expect(buffered).to_contain_text("Schedule posts and media for the best time of day.")
    expect(buffered.get_by_role("region", name="Things Buffered can view")).to_contain_text("Posts")
    expect(buffered.get_by_role("region", name="Things Buffered can do")).to_contain_text("Upload media")
    expect(buffered).to_contain_text("Stays connected")
    inbox = _app(page, "Inbox Zero for DMs")
    expect(inbox.get_by_role("region", name="Things Inbox Zero for DMs can view")).to_contain_text("Email address")
    # The most sensitive thing it can do is named, though it cannot post.
    expect(inbox).to_contain_text("Read, Write and Direct Messages · Email address")
    # The OAuth 1.0a app: its access level, and what it allows area by area in the level's own words.
    threadline = _app(page, "Threadline Desktop")
    expect(threadline).to_contain_text("Read and Write · Email address")
    expect(threadline.get_by_role("region", name="Things Threadline Desktop can do")).to_contain_text(
        "Update your profile information for you.")
    expect(_app(page, "Postwise Reader").get_by_role("region", name=re.compile("can do"))).to_have_count(0)
    expect(_app(page, "Postwise Reader").locator(".avatar")).to_have_text("P")

    # Relative times, with the exact time on hover: last used on the row, authorized in the details.
    last_used = buffered.locator("time").first
    expect(last_used).to_have_text("20 minutes ago")
    expect(last_used).to_have_attribute("title", re.compile(r"20\d\d"))
    expect(buffered.locator("time").nth(1)).to_have_text("2 months ago")

    current = page.locator("[data-list=sessions] > li[data-current=true]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("This device")
    expect(current).to_contain_text("Active now")
    expect(page.locator("[data-list=sessions] > li[data-current=false]")).to_have_count(4)
    iphone = _session(page, "iPhone")
    expect(iphone).to_contain_text("Mobile Safari 17.5 on iOS 17.5")
    expect(iphone).to_contain_text("United Kingdom")
    iphone.get_by_text("Details").click()
    expect(iphone).to_contain_text("81.2.69.x")  # the network only
    expect(iphone).not_to_contain_text("81.2.69.160")
    expect(iphone.locator("time")).to_have_text(["40 minutes ago", "3 days ago"])
    expect(_session(page, "Pixel 8")).to_contain_text("Brazil")
    expect(page.get_by_role("button", name="Log out all other sessions")).to_be_visible()
    expect(page.get_by_text("does not delete data that is already downloaded or cached")).to_be_visible()
    assert errors.messages == []


def test_revoke_access_asks_first_then_removes_the_app_without_a_reload(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    sign_in(page, demo.url)
    page.evaluate("window.notReloaded = true")

    page.get_by_role("button", name="Revoke access for Postwise Reader").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Revoke access for Postwise Reader?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(_app(page, "Postwise Reader")).to_have_count(1)

    page.get_by_role("button", name="Revoke access for Postwise Reader").click()
    dialog.get_by_role("button", name="Revoke access").click()
    expect(_app(page, "Postwise Reader")).to_have_count(0)
    # The receipt in words: Postwise Reader's only token had expired already.
    expect(page.get_by_role("status")).to_have_text(
        "Postwise Reader no longer has access to your account. Nothing it held was still working.")
    expect(page.locator("[data-count=apps]")).to_have_text("3")
    assert page.evaluate("window.notReloaded") is True

    page.reload()
    expect(page.locator("[data-list=apps] > li h3")).to_have_text(
        ["Buffered", "Threadline Desktop", "Inbox Zero for DMs"])
    assert errors.messages == []


def test_revoking_every_app_shows_the_empty_state(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser).new_page()
    sign_in(page, demo.url)
    expect(page.get_by_text("No connected apps")).to_be_hidden()
    for name in ("Buffered", "Postwise Reader", "Threadline Desktop", "Inbox Zero for DMs"):
        page.get_by_role("button", name=f"Revoke access for {name}").click()
        page.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
        expect(_app(page, name)).to_have_count(0)
    expect(page.get_by_text("No connected apps")).to_be_visible()
    expect(page.locator("[data-count=apps]")).to_have_text("0")
    page.reload()
    expect(page.get_by_text("No connected apps")).to_be_visible()


def test_log_out_one_session(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser).new_page()
    sign_in(page, demo.url)
    page.get_by_role("button", name="Log out iPhone, Mobile Safari 17.5 on iOS 17.5").click()
    dialog = page.get_by_role("dialog")  # asked first, as the other two actions are
    # Named by browser, place and time: three iPhones would not all be "iPhone".
    expect(dialog).to_contain_text("Log out Mobile Safari on iOS in United Kingdom?")
    expect(dialog).to_contain_text("active 40 minutes ago")
    dialog.get_by_role("button", name="Cancel").click()
    expect(_session(page, "iPhone")).to_have_count(1)
    page.get_by_role("button", name="Log out iPhone, Mobile Safari 17.5 on iOS 17.5").click()
    dialog.get_by_role("button", name="Log out").click()
    expect(_session(page, "iPhone")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text(
        "Logged out Mobile Safari on iOS in United Kingdom: that session has ended.")
    expect(page.locator("[data-count=sessions]")).to_have_text("4")
    page.reload()
    expect(_session(page, "iPhone")).to_have_count(0)
    expect(_session(page, "Pixel 8")).to_have_count(1)


def test_log_out_all_other_sessions_ends_the_second_browser_and_keeps_this_one(
    browser: Browser, demo: LiveServer
) -> None:
    first = new_context(browser).new_page()
    errors = PageErrors(first)
    sign_in(first, demo.url)
    second = new_context(browser).new_page()
    sign_in(second, demo.url)

    first.reload()  # now it knows about the second browser too: 4 demo sessions + 1
    first.get_by_role("button", name="Log out all other sessions").click()
    dialog = first.get_by_role("dialog")
    expect(dialog).to_contain_text("Log out 5 other sessions?")
    dialog.get_by_role("button", name="Log out 5 other sessions").click()
    expect(first.locator("[data-list=sessions] > li")).to_have_count(1)
    expect(first.get_by_role("status")).to_have_text("Logged out 5 other sessions.")
    expect(first.get_by_text("You are not signed in anywhere else.")).to_be_visible()
    expect(first.get_by_role("button", name="Log out all other sessions")).to_be_hidden()

    second.goto(f"{demo.url}/settings")
    expect(second).to_have_url(f"{demo.url}/login?next=/settings")
    expect(second.get_by_role("button", name="Sign in")).to_be_visible()

    first.reload()
    expect(first).to_have_url(f"{demo.url}/settings")
    expect(first.locator("[data-current=true]")).to_contain_text("This device")
    assert errors.messages == []


def test_an_ended_session_is_sent_to_sign_in_by_its_next_click(browser: Browser, demo: LiveServer) -> None:
    first = new_context(browser).new_page()
    sign_in(first, demo.url)
    second = new_context(browser).new_page()
    sign_in(second, demo.url)
    first.reload()
    first.get_by_role("button", name="Log out all other sessions").click()
    first.get_by_role("dialog").get_by_role("button", name=re.compile("^Log out")).click()
    expect(first.locator("[data-list=sessions] > li")).to_have_count(1)

    second.get_by_role("button", name="Revoke access for Buffered").click()
    second.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
    expect(second).to_have_url(f"{demo.url}/login?ended=1&next=%2Fsettings")
    # The sign-in page says why, and that the revoke was not done.
    expect(second.get_by_role("status")).to_contain_text("what you just asked for was not done")
    first.reload()
    expect(_app(first, "Buffered")).to_have_count(1)


def test_an_action_the_server_never_answers_says_so_and_keeps_the_focus(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser).new_page()
    sign_in(page, demo.url)
    page.route("**/graphql", lambda route: route.abort())  # as if the server were down or the network gone
    page.get_by_role("button", name="Revoke access for Buffered").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke access").press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Consentry could not be reached, so nothing was changed. Check your connection and try again.")
    button = page.get_by_role("button", name="Revoke access for Buffered")
    expect(button).to_be_enabled()
    expect(button).to_be_focused()
    expect(_app(page, "Buffered")).to_have_count(1)


def test_without_javascript_the_page_still_shows_everything(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser, java_script_enabled=False).new_page()
    sign_in(page, demo.url)
    expect(page.locator("[data-list=apps] > li")).to_have_count(4)
    expect(page.locator("[data-list=sessions] > li")).to_have_count(5)
    # Chromium with scripting turned off by the driver still parses <noscript> as text, so read it as such.
    notice = page.locator("noscript").text_content() or ""
    assert "Revoking access and logging out other sessions need JavaScript." in notice
    expect(page.get_by_role("button", name="Revoke access for Buffered")).to_be_hidden()
    # Logging this device out is a plain form, so it works anyway.
    page.get_by_role("button", name="Log out of this device").click()
    expect(page).to_have_url(f"{demo.url}/login")


def test_phone_width_keyboard_and_focus(browser: Browser, demo: LiveServer) -> None:
    page = new_context(browser, viewport=PHONE).new_page()
    sign_in(page, demo.url)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]

    revoke = page.get_by_role("button", name="Revoke access for Buffered")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == "Revoke access for Buffered":
            break
    expect(revoke).to_be_focused()
    outline = revoke.evaluate("button => getComputedStyle(button).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(revoke).to_be_focused()
    expect(_app(page, "Buffered")).to_have_count(1)
