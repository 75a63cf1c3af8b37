"""Mutations for OAuth consent, revoking apps and registering apps."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.graphql.arguments import MUTATION_INPUT
from app.graphql.context import Context
from app.graphql.errors import UserError, user_errors
from app.graphql.ids import AUTHORIZATION_REQUEST, from_global_id
from app.graphql.types import App, AppProtocol, RevocationReceipt
from app.oauth.redirects import answer_uri
from app.services import apps as app_service
from app.services import grants as grant_service
from app.services.errors import DomainError
from app.services.oauth import revocation
from app.services.oauth1.registration import OAuth1Options


@strawberry.input(description="Which pending authorization request to answer.")
class AuthorizeInput:
    request_id: strawberry.ID = strawberry.field(description="ID of the `AuthorizationRequest`.")


@strawberry.type(description="Result of `authorize`.")
class AuthorizePayload:
    redirect_uri: str | None = strawberry.field(
        description="Send the browser here: the app's redirect URI with `code`, `state` and `iss`.")
    user_errors: list[UserError] = strawberry.field(description="`NOT_FOUND` or `INVALID` (expired, decided).")


@strawberry.input(description="Which pending authorization request to refuse.")
class DenyAuthorizationInput:
    request_id: strawberry.ID = strawberry.field(description="ID of the `AuthorizationRequest`.")


@strawberry.type(description="Result of `denyAuthorization`.")
class DenyAuthorizationPayload:
    redirect_uri: str | None = strawberry.field(
        description="Send the browser here: the app's redirect URI with `error=access_denied`, `state`, `iss`.")
    user_errors: list[UserError] = strawberry.field(description="`NOT_FOUND` or `INVALID` (expired, decided).")


@strawberry.input(description="Which app `revokeAccess` disconnects.")
class RevokeAccessInput:
    app_id: strawberry.ID = strawberry.field(
        description="ID of the connected `App`, or of the `ConnectedApp` (`connectedApps.nodes.id`).")


@strawberry.type(description="Result of `revokeAccess`.")
class RevokeAccessPayload:
    app: App | None = strawberry.field(description="The app that lost access; all its tokens are dead.")
    receipt: RevocationReceipt | None = strawberry.field(
        description="The app's access and refresh tokens that ended (zero when its access had already ended).")
    user_errors: list[UserError] = strawberry.field(
        description="`NOT_FOUND` when the account never connected the app. Revoking an app whose access already "
                    "ended succeeds again (two revokes at once both succeed).")


@strawberry.input(description="A new OAuth app.")
class RegisterAppInput:
    name: str = strawberry.field(description="Name shown to people (1 to 100 characters).")
    description: str = strawberry.field(default="", description="What the app does.")
    website_url: str | None = strawberry.field(default=None, description="The app's website (https).")
    icon_url: str | None = strawberry.field(default=None, description="The app's icon (https).")
    privacy_policy_url: str | None = strawberry.field(
        default=None, description="The app's privacy policy (https), linked on the consent and app pages.")
    terms_url: str | None = strawberry.field(
        default=None, description="The app's terms of service (https), linked on the consent and app pages.")
    redirect_uris: list[str] = strawberry.field(
        description="Exact redirect URIs: absolute, no fragment, https (http only on loopback).")
    scopes: list[str] = strawberry.field(
        default_factory=list, description="OAuth 2.0: scopes the app may ask for, from `permissionCatalog`.")
    confidential: bool = strawberry.field(
        default=True, description="A server-side app with a client secret; false for public (PKCE-only) apps. "
                                  "OAuth 1.0a apps always have a consumer secret.")
    protocol: AppProtocol = strawberry.field(
        default=AppProtocol.OAUTH2, description="OAUTH2 (scopes per request) or OAUTH1 (OAuth 1.0a User Context: an "
                                                "access level and add-ons; `redirectUris` are its callback URLs and "
                                                "may be empty for the PIN flow).")
    access_level: str | None = strawberry.field(
        default=None, description="OAuth 1.0a: the catalogue key of the access level (`read`, `read-write`, "
                                  "`read-write-dm` in the default catalogue).")
    add_ons: list[str] = strawberry.field(
        default_factory=list, description="OAuth 1.0a: catalogue keys of add-ons (`email`, `ads-analytics`, "
                                          "`ads-management` in the default catalogue).")


@strawberry.type(description="Result of `registerApp` and `rotateClientSecret`.")
class RegisterAppPayload:
    app: App | None = strawberry.field(description="The app.")
    client_secret: str | None = strawberry.field(
        description="The client secret, shown this once (only for confidential apps). For an OAuth 1.0a app it is "
                    "the consumer secret, and `app.clientId` the consumer key.")
    user_errors: list[UserError] = strawberry.field(description="Which input was refused and why.")


@strawberry.input(description="Which app gets a new client secret.")
class RotateClientSecretInput:
    app_id: strawberry.ID = strawberry.field(description="ID of an app you registered.")


async def authorize(info: Info[Context, None], input: Annotated[AuthorizeInput, MUTATION_INPUT]) -> AuthorizePayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            answer = await grant_service.approve_authorization_request(
                db, account=login.account, session_id=login.session.id,
                request_id=from_global_id(input.request_id, AUTHORIZATION_REQUEST), settings=ctx.state.settings,
                actor=ctx.actor())
    except DomainError as error:
        return AuthorizePayload(redirect_uri=None, user_errors=user_errors(error))
    return AuthorizePayload(redirect_uri=answer_uri(answer, issuer=ctx.state.settings.issuer), user_errors=[])


async def deny_authorization(
    info: Info[Context, None], input: Annotated[DenyAuthorizationInput, MUTATION_INPUT],
) -> DenyAuthorizationPayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            answer = await grant_service.deny_authorization_request(
                db, account=login.account, session_id=login.session.id,
                request_id=from_global_id(input.request_id, AUTHORIZATION_REQUEST))
    except DomainError as error:
        return DenyAuthorizationPayload(redirect_uri=None, user_errors=user_errors(error))
    return DenyAuthorizationPayload(redirect_uri=answer_uri(answer, issuer=ctx.state.settings.issuer), user_errors=[])


async def revoke_access(
    info: Info[Context, None], input: Annotated[RevokeAccessInput, MUTATION_INPUT],
) -> RevokeAccessPayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            revoked = await revocation.revoke_access(
                db, account=login.account, app_id=from_global_id(input.app_id, "App"),
                grant_id=from_global_id(input.app_id, "ConnectedApp"), actor=ctx.actor())
    except DomainError as error:
        return RevokeAccessPayload(app=None, receipt=None, user_errors=user_errors(error))
    return RevokeAccessPayload(app=App.from_model(revoked.app), receipt=RevocationReceipt.from_receipt(revoked.receipt),
                               user_errors=[])


async def register_app(
    info: Info[Context, None], input: Annotated[RegisterAppInput, MUTATION_INPUT],
) -> RegisterAppPayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            registered = await app_service.register_app(
                db, owner=login.account, name=input.name, description=input.description,
                website_url=input.website_url, icon_url=input.icon_url, redirect_uris=input.redirect_uris,
                scopes=input.scopes, confidential=input.confidential, developer_name=None,
                catalog=ctx.state.catalog, privacy_policy_url=input.privacy_policy_url, terms_url=input.terms_url,
                oauth1=_oauth1_options(input, ctx.state.settings.secret_key))
    except DomainError as error:
        return RegisterAppPayload(app=None, client_secret=None, user_errors=user_errors(error))
    return RegisterAppPayload(app=App.from_model(registered.app), client_secret=registered.client_secret,
                              user_errors=[])


async def rotate_client_secret(
    info: Info[Context, None], input: Annotated[RotateClientSecretInput, MUTATION_INPUT],
) -> RegisterAppPayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            registered = await app_service.rotate_client_secret(
                db, owner=login.account, app_id=from_global_id(input.app_id, "App"),
                secret_key=ctx.state.settings.secret_key)
    except DomainError as error:
        return RegisterAppPayload(app=None, client_secret=None, user_errors=user_errors(error))
    return RegisterAppPayload(app=App.from_model(registered.app), client_secret=registered.client_secret,
                              user_errors=[])


def _oauth1_options(input: RegisterAppInput, secret_key: str) -> OAuth1Options | None:
    if input.protocol is not AppProtocol.OAUTH1:
        return None
    return OAuth1Options(access_level=input.access_level or "", add_ons=list(input.add_ons), secret_key=secret_key)
