"""The GraphQL schema: queries and mutations over the services."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.graphql import account_mutations, app_mutations, session_mutations
from app.graphql.account import Account, ConnectedApp
from app.graphql.arguments import NODE_ID
from app.graphql.context import Context
from app.graphql.error_policy import ConsentrySchema
from app.graphql.ids import from_global_id
from app.graphql.node import resolve_node
from app.graphql.password_required import require_new_password_first
from app.graphql.security import schema_extensions
from app.graphql.security_events import SecurityEvent
from app.graphql.types import AuthorizationRequest, Node, Permission
from app.services import grants as grant_service
from app.services.errors import DomainError
from app.settings import Settings


@strawberry.type(description="Read the signed-in account, its apps and sessions, and pending consents.")
class Query:
    @strawberry.field(description="The signed-in account.")
    def viewer(self, info: Info[Context, None]) -> Account:
        login = info.context.require_login()
        return Account.from_model(login.account, session_id=login.session.id)

    @strawberry.field(description="Any object of the signed-in account by its global ID; null when not yours.")
    async def node(self, info: Info[Context, None], id: Annotated[strawberry.ID, NODE_ID]) -> Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(description="A pending authorization request of this session, for consent screens.")
    async def authorization_request(self, info: Info[Context, None], id: Annotated[strawberry.ID, NODE_ID]
                                    ) -> AuthorizationRequest | None:
        ctx = info.context
        login = ctx.require_login()
        try:
            async with ctx.db() as db:
                pending = await grant_service.get_authorization_request(
                    db, account=login.account, session_id=login.session.id,
                    request_id=from_global_id(id, "AuthorizationRequest"))
        except DomainError:
            return None
        return AuthorizationRequest.from_model(pending.request, pending.app, ctx.state.catalog)

    @strawberry.field(description="Every permission an app can ask for, in plain words.")
    def permission_catalog(self, info: Info[Context, None]) -> list[Permission]:
        return [Permission.from_catalog(p) for p in info.context.state.catalog.permissions]


@strawberry.type(description="Sign in and out, end sessions, answer consent requests, revoke and register apps.")
class Mutation:
    login = strawberry.mutation(session_mutations.login, description="Sign in; returns a session token.")
    logout = strawberry.mutation(session_mutations.logout, description="End the current session.")
    logout_session = strawberry.mutation(session_mutations.logout_session,
                                         description="End one of the account's sessions.")
    logout_other_sessions = strawberry.mutation(
        session_mutations.logout_other_sessions, description="End every session except the current one.")
    authorize = strawberry.mutation(app_mutations.authorize,
                                    description="Approve a pending authorization request.")
    deny_authorization = strawberry.mutation(app_mutations.deny_authorization,
                                             description="Refuse a pending authorization request.")
    revoke_access = strawberry.mutation(
        app_mutations.revoke_access, description="Disconnect an app: its grant ends and every token it holds dies.")
    register_app = strawberry.mutation(app_mutations.register_app,
                                       description="Register a third-party app (you become its developer).")
    rotate_client_secret = strawberry.mutation(
        app_mutations.rotate_client_secret, description="Replace a confidential app's client secret.")
    change_password = strawberry.mutation(
        account_mutations.change_password,
        description="Change the password; ends the other sessions and, when asked, revokes every connected app.")
    secure_account = strawberry.mutation(
        account_mutations.secure_account,
        description="\"This wasn't me\": log out every other session, revoke every app (unless `revokeApps: false`) "
                    "and require a new password: until `changePassword`, every other mutation of this session "
                    "answers `PASSWORD_CHANGE_REQUIRED`.")


# Every mutation but changePassword waits for the new password "This wasn't me" asks for.
require_new_password_first(Mutation)


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema, with the extensions of this deployment's profile."""
    return ConsentrySchema(query=Query, mutation=Mutation, types=[ConnectedApp, SecurityEvent],
                           extensions=schema_extensions(settings))
