"""An app written for X's OAuth 1.0a flow, pointed at a live server, played by two independent client libraries
(requests-oauthlib's OAuth1Session and Authlib's OAuth1Client over httpx): request token, consent in Chromium,
access token, signed GET /api/v1/me, revoke on the settings page, and the next signed request refused."""

from __future__ import annotations

import re

import pytest
from authlib.integrations.httpx_client import OAuth1Client
from oauthlib.oauth1 import SIGNATURE_PLAINTEXT
from playwright.sync_api import Browser, Page, expect
from requests_oauthlib import OAuth1Session
from requests_oauthlib.oauth1_session import TokenRequestDenied

from app.services import apps
from app.services.apps import RegisteredApp
from app.services.oauth1.registration import OAuth1Options
from app.services.permissions import load_catalog
from app.settings import Settings
from tests.conftest import LiveServer
from tests.web.browser import AppCallback, PageErrors, browser, callback, demo, new_context, sign_in, with_db

__all__ = ["browser", "callback", "demo"]  # fixtures, imported so pytest finds them here


def _register(settings: Settings, *, callbacks: list[str], name: str = "Threadpost") -> RegisteredApp:
    """An OAuth 1.0a app at "Read and Write" with the Email address add-on, as `register-app --protocol oauth1`
    registers it."""
    return with_db(settings, lambda db: apps.register_app(
        db, owner=None, name=name, description="Post long threads from your desktop.",
        website_url="https://threadpost.example", icon_url=None, redirect_uris=callbacks, scopes=[],
        confidential=True, developer_name="Threadpost Ltd", catalog=load_catalog(settings.permission_catalog_path),
        oauth1=OAuth1Options(access_level="read-write", add_ons=["email"], secret_key=settings.secret_key)))


def _to_consent(page: Page, server: LiveServer, authorize_url: str) -> None:
    sign_in(page, server.url, next_path=authorize_url.removeprefix(server.url),
            lands_on=re.compile(r"/oauth/authorize\?oauth_token="))
    expect(page.get_by_text("Access level: Read and Write · Email address")).to_be_visible()
    expect(page.get_by_text("Update your profile information for you.")).to_be_visible()


def _revoke_on_settings(page: Page, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/settings")
    listed = page.locator("[data-list=apps] > li").filter(has=page.get_by_role("heading", name=name, exact=True))
    expect(listed).to_contain_text("Read and Write · Email address")
    page.get_by_role("button", name=f"Revoke access for {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke access").click()
    expect(listed).to_have_count(0)
    # The receipt in words counts the app's token credentials, which ended with the grant.
    expect(page.get_by_role("status")).to_have_text(
        f"{name} no longer has access to your account. 1 access token stopped working.")


def test_requests_oauthlib_connects_calls_the_api_and_is_revoked_on_the_settings_page(
        browser: Browser, demo: LiveServer, callback: AppCallback) -> None:
    """The README's requests-oauthlib script, with a person authorizing in Chromium and later revoking the app."""
    reg = _register(demo.settings, callbacks=[callback.redirect_uri])
    session = OAuth1Session(reg.app.client_id, client_secret=reg.client_secret, callback_uri=callback.redirect_uri)
    session.fetch_request_token(f"{demo.url}/oauth/request_token")
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    _to_consent(page, demo, session.authorization_url(f"{demo.url}/oauth/authorize"))
    page.get_by_role("button", name="Authorize app").click()
    page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?"))

    session.parse_authorization_response(page.url)
    token = session.fetch_access_token(f"{demo.url}/oauth/access_token")
    assert token["screen_name"] == "demo" and token["user_id"]
    me = session.get(f"{demo.url}/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "demo" and me.json()["email"]

    _revoke_on_settings(page, demo, "Threadpost")
    refused = session.get(f"{demo.url}/api/v1/me")
    assert refused.status_code == 401 and "invalid_token" in refused.text
    assert errors.messages == []


def test_authlib_client_is_sent_away_on_cancel_then_connects_and_is_revoked(
        browser: Browser, demo: LiveServer, callback: AppCallback) -> None:
    """Authlib's OAuth1Client (httpx): Cancel brings X's denied=<token> to the callback and those credentials are
    dead; a second try is authorized, used, and revoked from the settings page."""
    reg = _register(demo.settings, callbacks=[callback.redirect_uri], name="Threadview")
    page = new_context(browser).new_page()
    with OAuth1Client(reg.app.client_id, reg.client_secret, redirect_uri=callback.redirect_uri) as client:
        denied = client.fetch_request_token(f"{demo.url}/oauth/request_token")
        sign_in(page, demo.url, next_path=client.create_authorization_url(
            f"{demo.url}/oauth/authorize").removeprefix(demo.url), lands_on=re.compile(r"/oauth/authorize\?"))
        page.get_by_role("button", name="Cancel").click()
        page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?denied="))
        assert callback.received[-1] == {"denied": denied["oauth_token"]}
        client.auth.verifier = "anything"
        assert client.post(f"{demo.url}/oauth/access_token").status_code == 401

        client.token = None
        client.fetch_request_token(f"{demo.url}/oauth/request_token")
        page.goto(client.create_authorization_url(f"{demo.url}/oauth/authorize"))
        page.get_by_role("button", name="Authorize app").click()
        page.wait_for_url(re.compile(re.escape(callback.redirect_uri) + r"\?oauth_token="))
        client.parse_authorization_response(page.url)
        client.fetch_access_token(f"{demo.url}/oauth/access_token")
        assert client.get(f"{demo.url}/api/v1/me").json()["username"] == "demo"
        _revoke_on_settings(page, demo, "Threadview")
        assert client.get(f"{demo.url}/api/v1/me").status_code == 401


def test_the_pin_flow_in_a_browser(browser: Browser, demo: LiveServer) -> None:
    """oauth_callback=oob, as desktop and command-line apps use it: the page shows a PIN that the app exchanges."""
    reg = _register(demo.settings, callbacks=[], name="Threadterm")
    session = OAuth1Session(reg.app.client_id, client_secret=reg.client_secret, callback_uri="oob")
    session.fetch_request_token(f"{demo.url}/oauth/request_token")
    page = new_context(browser).new_page()
    errors = PageErrors(page)
    _to_consent(page, demo, session.authorization_url(f"{demo.url}/oauth/authorize"))
    expect(page.get_by_text("You will get a PIN to enter in Threadterm.")).to_be_visible()
    page.get_by_role("button", name="Authorize app").click()
    expect(page).to_have_title("Your PIN for Threadterm · Consentry")
    pin = page.get_by_label("PIN").text_content() or ""
    assert re.fullmatch(r"\d{7}", pin), pin
    session.fetch_access_token(f"{demo.url}/oauth/access_token", verifier=pin)
    assert session.get(f"{demo.url}/api/v1/me").json()["username"] == "demo"
    assert errors.messages == []


def test_plaintext_over_plain_http_is_refused(live_server: LiveServer) -> None:
    """PLAINTEXT signatures reveal the secrets, so over plain http (even on loopback, where HMAC is taken) they
    are refused with an OAuth error; HMAC-SHA1 on the same server works."""
    reg = _register(live_server.settings, callbacks=[], name="Plain")
    plain = OAuth1Session(reg.app.client_id, client_secret=reg.client_secret, callback_uri="oob",
                          signature_method=SIGNATURE_PLAINTEXT)
    with pytest.raises(TokenRequestDenied) as refused:
        plain.fetch_request_token(f"{live_server.url}/oauth/request_token")
    assert refused.value.status_code == 400 and "unsupported_signature_method" in refused.value.response.text
    hmac = OAuth1Session(reg.app.client_id, client_secret=reg.client_secret, callback_uri="oob")
    assert hmac.fetch_request_token(f"{live_server.url}/oauth/request_token")["oauth_callback_confirmed"] == "true"
