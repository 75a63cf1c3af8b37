"""An app's privacy policy and terms of service: optional fields of registration, checked like every URL, and
linked on the consent page so a person can read them before authorizing (the reference's advice)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.factories import graphql_data
from tests.oauth.helpers import REDIRECT_URI, authorize_params, pkce_pair, sign_in, start

REGISTER = """mutation($input: RegisterAppInput!) { registerApp(input: $input) {
  app { clientId privacyPolicyUrl termsUrl } userErrors { field message } } }"""


def _input(**links: str) -> dict[str, object]:
    return {"input": {"name": "Pixelfeed", "redirectUris": [REDIRECT_URI], "scopes": ["tweet.read", "users.read"],
                      **links}}


async def test_links_are_registered_checked_and_shown_on_the_consent_page(
    app: Starlette, client: httpx.AsyncClient,
) -> None:
    """Registered links come back on the App and appear on the consent page; a non-https link is refused."""
    person = await sign_in(app)
    refused = await graphql_data(client, REGISTER, _input(privacyPolicyUrl="http://pixelfeed.example/privacy"),
                                 token=person.token)
    assert refused["registerApp"]["userErrors"][0]["field"] == "privacyPolicyUrl"
    data = await graphql_data(client, REGISTER, _input(privacyPolicyUrl="https://pixelfeed.example/privacy",
                                                       termsUrl="https://pixelfeed.example/terms"), token=person.token)
    app_data = data["registerApp"]["app"]
    assert (app_data["privacyPolicyUrl"], app_data["termsUrl"]) == ("https://pixelfeed.example/privacy",
                                                                     "https://pixelfeed.example/terms")

    class Registered:
        class app:  # noqa: N801 - the shape authorize_params reads
            client_id = app_data["clientId"]

    pending = await start(client, person, authorize_params(Registered, pkce_pair()[1], scope="tweet.read"))  # type: ignore[arg-type]
    assert pending.status_code == 302, pending.text
    page = await client.get(pending.headers["location"], headers=person.headers)
    assert page.status_code == 200
    assert '<a href="https://pixelfeed.example/privacy" rel="noopener noreferrer external" target="_blank">privacy ' \
           'policy</a>' in page.text
    assert '<a href="https://pixelfeed.example/terms"' in page.text and "Before you authorize it, read" in page.text
