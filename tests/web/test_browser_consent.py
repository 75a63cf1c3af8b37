"""A third-party app connecting through the consent page in Chromium, then losing access from the settings page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.oauth.helpers import pkce_pair
from tests.web.browser import (
    DESKTOP,
    PHONE,
    AppCallback,
    PageErrors,
    authorize_url,
    browser,
    call_me,
    callback,
    demo,
    exchange_code,
    new_context,
    register_app,
    sign_in,
    token_request,
)

__all__ = ["browser", "callback", "demo"]  # fixtures, imported so pytest finds them here

SCOPE = "tweet.read users.read users.email tweet.write offline.access"


def _to_consent(page: Page, server: LiveServer, url: str) -> None:
    sign_in(page, server.url, next_path=url.removeprefix(server.url), lands_on=re.compile(r"/oauth/consent\?request="))


def test_authorize_app_sends_a_code_the_app_exchanges_and_revoking_kills_its_token(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE)
    verifier, challenge = pkce_pair()
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    _to_consent(page, demo, authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE,
                                          challenge=challenge))

    expect(page).to_have_title("Authorize Pixelfeed · Consentry")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pixelfeed")
    expect(page.get_by_text("By Pixelfeed Studio")).to_be_visible()
    expect(page.get_by_text("Things this App can view")).to_be_visible()
    expect(page.get_by_text("Things this App can do")).to_be_visible()
    expect(page.get_by_text("Email address", exact=True)).to_be_visible()
    expect(page.get_by_text("@demo").last).to_be_visible()
    page.get_by_role("button", name="Authorize app").click()

    page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?"))
    assert len(callback.received) == 1
    answer = callback.received[0]
    assert answer["state"] == "state-from-the-app" and answer["iss"] == demo.url and "error" not in answer
    tokens = exchange_code(demo.url, reg, code=answer["code"], verifier=verifier, redirect_uri=callback.redirect_uri)
    assert tokens.status_code == 200, tokens.text
    access_token = tokens.json()["access_token"]
    me = call_me(demo.url, access_token)
    assert me.status_code == 200 and me.json()["username"] == "demo"

    page.goto(f"{demo.url}/settings")
    pixelfeed = page.locator("[data-list=apps] > li").filter(has_text="Pixelfeed")
    pixelfeed.get_by_text("Details").click()  # one row per app; what it may do opens on demand
    expect(pixelfeed).to_contain_text("By Pixelfeed Studio")
    expect(pixelfeed.get_by_role("region", name="Things Pixelfeed can do")).to_contain_text("Post for you")
    expect(pixelfeed.locator("time").first).to_have_text("just now")
    page.get_by_role("button", name="Revoke access for Pixelfeed").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
    expect(pixelfeed).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text(
        "Pixelfeed no longer has access to your account. 1 access token and 1 refresh token stopped working.")

    assert call_me(demo.url, access_token).status_code == 401
    refreshed = token_request(demo.url, reg, {"grant_type": "refresh_token",
                                              "refresh_token": tokens.json()["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert errors.messages == []


def test_cancel_sends_access_denied_to_the_app_and_connects_nothing(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE)
    _verifier, challenge = pkce_pair()
    page = new_context(browser).new_page()
    _to_consent(page, demo, authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE,
                                          challenge=challenge))
    page.get_by_role("button", name="Cancel").click()

    page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?"))
    assert len(callback.received) == 1
    answer = callback.received[0]
    assert answer["error"] == "access_denied"
    assert answer["state"] == "state-from-the-app" and answer["iss"] == demo.url and "code" not in answer
    page.goto(f"{demo.url}/settings")
    expect(page.locator("[data-list=apps] > li")).to_have_count(4)
    expect(page.locator("[data-list=apps]")).not_to_contain_text("Pixelfeed")


def test_consent_page_fits_a_phone_and_shows_the_caution(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE)
    _verifier, challenge = pkce_pair()
    page = new_context(browser, viewport=PHONE).new_page()
    errors = PageErrors(page)
    _to_consent(page, demo, authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE,
                                          challenge=challenge))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("link", name="Apps and sessions")).to_have_attribute("href", "/settings")
    expect(page.get_by_text(re.compile("own privacy policy and terms apply"))).to_be_visible()
    expect(page.get_by_text(re.compile("Stay connected", re.I)).first).to_be_visible()
    authorize = page.get_by_role("button", name="Authorize app")
    cancel = page.get_by_role("button", name="Cancel")
    assert authorize.bounding_box()["width"] > 300 and cancel.bounding_box()["width"] > 300  # type: ignore[index]
    assert errors.messages == []


def test_names_without_spaces_at_their_longest_still_fit_a_phone(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    # Registration allows a 100-character name, a 128-character developer and 1,000 characters of description;
    # written without a space, they once pushed both pages 8,500 px wide on a phone.
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE, name="W" * 100,
                       developer_name="D" * 128, description="x" * 1000)
    _verifier, challenge = pkce_pair()
    page = new_context(browser, viewport=PHONE).new_page()
    _to_consent(page, demo, authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE,
                                          challenge=challenge))
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(re.compile(re.escape(callback.redirect_uri)))
    page.goto(f"{demo.url}/settings")
    expect(page.get_by_role("link", name="W" * 100, exact=True)).to_be_visible()
    page.locator("[data-list=apps] > li").filter(has_text="W" * 100).get_by_text("Details").click()
    expect(page.get_by_text("x" * 1000)).to_be_visible()  # the developer and description, opened
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("link", name="W" * 100, exact=True).click()  # the app's own page
    expect(page.get_by_role("heading", name="W" * 100, level=1)).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_an_icon_that_cannot_load_shows_the_apps_letter_and_the_buttons_go_in_reading_order(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE, name="Quietly",
                       icon_url=f"{demo.url}/static/no-such-icon.png")
    _verifier, challenge = pkce_pair()
    for viewport in (PHONE, DESKTOP):
        page = new_context(browser, viewport=viewport).new_page()
        _to_consent(page, demo, authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE,
                                              challenge=challenge))
        expect(page.locator(".consent-app img")).to_have_count(0)
        expect(page.locator(".consent-app .app-icon-placeholder")).to_have_text("Q")
        authorize = page.get_by_role("button", name="Authorize app")
        cancel = page.get_by_role("button", name="Cancel")
        above = authorize.bounding_box()["y"] < cancel.bounding_box()["y"]  # type: ignore[index]
        assert above, "Authorize app comes first, as it is read"
        authorize.focus()
        page.keyboard.press("Tab")
        expect(cancel).to_be_focused()
