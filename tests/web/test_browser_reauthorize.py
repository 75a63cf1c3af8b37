"""An app on a loopback redirect URI that the person authorized before: Chromium shows the one-click page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.conftest import LiveServer
from tests.oauth.helpers import pkce_pair
from tests.web.browser import (
    AppCallback,
    PageErrors,
    authorize_url,
    browser,
    callback,
    demo,
    exchange_code,
    new_context,
    register_app,
    sign_in,
)

__all__ = ["browser", "callback", "demo"]  # fixtures, imported so pytest finds them here

SCOPE = "tweet.read users.read offline.access"


def test_a_loopback_app_authorized_before_asks_once_more_with_one_click(
    browser: Browser, demo: LiveServer, callback: AppCallback
) -> None:
    """Any program on the device can listen on a loopback redirect URI (RFC 8252 §8.6), so a second authorization
    shows "Continue to Pixelfeed?" instead of sending a code silently; one click sends a code that redeems."""
    reg = register_app(demo.settings, redirect_uri=callback.redirect_uri, scopes=SCOPE)
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    first = authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE, challenge=pkce_pair()[1])
    sign_in(page, demo.url, next_path=first.removeprefix(demo.url), lands_on=re.compile(r"/oauth/consent\?request="))
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?"))

    verifier, challenge = pkce_pair()
    page.goto(authorize_url(demo.url, reg, redirect_uri=callback.redirect_uri, scope=SCOPE, challenge=challenge))
    page.wait_for_url(re.compile(r"/oauth/consent\?request="))
    assert len(callback.received) == 1  # no code went to the app without the person
    expect(page).to_have_title("Continue to Pixelfeed · Consentry")
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue to Pixelfeed?")
    expect(page.get_by_text(re.compile("You already allowed Pixelfeed"))).to_be_visible()
    expect(page.get_by_role("button", name="Authorize app")).to_have_count(0)
    page.get_by_role("button", name="Continue to Pixelfeed").click()

    page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?"))
    assert len(callback.received) == 2
    answer = callback.received[1]
    assert answer["state"] == "state-from-the-app" and answer["iss"] == demo.url and "error" not in answer
    tokens = exchange_code(demo.url, reg, code=answer["code"], verifier=verifier, redirect_uri=callback.redirect_uri)
    assert tokens.status_code == 200, tokens.text
    assert errors.messages == []
