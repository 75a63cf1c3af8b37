"""Mutations for signing in and out and ending sessions."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.graphql.account import Account
from app.graphql.arguments import MUTATION_INPUT
from app.graphql.context import Context
from app.graphql.errors import UserError, retry_after, user_errors
from app.graphql.ids import from_global_id, node_id
from app.graphql.types import ClientKind, RevocationReceipt, Session
from app.http.auth import client_ip
from app.http.device_cookie import known_device, remember_device
from app.services import sessions as session_service
from app.services.errors import DomainError, NotFound


@strawberry.input(description="Credentials for `login`.")
class LoginInput:
    username: str = strawberry.field(description="Username (any case).")
    password: str = strawberry.field(description="Password.")
    client_kind: ClientKind = strawberry.field(default=ClientKind.MOBILE,
                                               description="What is signing in; shown in the sessions list.")


@strawberry.type(description="Result of `login`.")
class LoginPayload:
    token: str | None = strawberry.field(description="Session token: send it as `Authorization: Bearer <token>`.")
    session: Session | None = strawberry.field(description="The new session.")
    account: Account | None = strawberry.field(description="The signed-in account.")
    ended_sessions: list[Session] = strawberry.field(
        description="Sessions this sign-in logged out because the account reached its limit of signed-in sessions "
                    "(the least recently active first); usually empty.")
    user_errors: list[UserError] = strawberry.field(description="Why signing in failed.")


@strawberry.type(description="Result of `logout`.")
class LogoutPayload:
    user_errors: list[UserError] = strawberry.field(description="Always empty when signed in.")


@strawberry.input(description="Which session `logoutSession` ends.")
class LogoutSessionInput:
    session_id: strawberry.ID = strawberry.field(description="ID of one of the account's sessions.")


@strawberry.type(description="Result of `logoutSession`.")
class LogoutSessionPayload:
    session_id: strawberry.ID | None = strawberry.field(description="ID of the session that ended.")
    receipt: RevocationReceipt | None = strawberry.field(description="What ended: one session.")
    user_errors: list[UserError] = strawberry.field(description="`NOT_FOUND` for unknown or other accounts' IDs.")


@strawberry.type(description="Result of `logoutOtherSessions`.")
class LogoutOtherSessionsPayload:
    logged_out_count: int = strawberry.field(description="How many sessions ended.")
    receipt: RevocationReceipt | None = strawberry.field(description="What ended: the other sessions.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was done, if so.")


async def login(info: Info[Context, None], input: Annotated[LoginInput, MUTATION_INPUT]) -> LoginPayload:
    ctx = info.context
    await ctx.release_connection()  # the sign-in waits for a hashing thread and uses a connection of its own
    try:
        signed_in = await session_service.sign_in(
            ctx.state.database, username=input.username, password=input.password,
            ip_address=client_ip(ctx.request), user_agent=ctx.request.headers.get("user-agent"),
            # str(): Strawberry types an enum_value() member's value as its definition; at run time it is the str.
            client_kind=str(input.client_kind.value), limiter=ctx.state.login_limiter,
            device=known_device(ctx.request, username=input.username), policy=ctx.state.session_policy,
        )
    except DomainError as error:
        if (seconds := retry_after(error)) is not None:
            ctx.response.headers["Retry-After"] = str(seconds)
            ctx.response.status_code = 429
        return LoginPayload(token=None, session=None, account=None, ended_sessions=[],
                            user_errors=user_errors(error))
    # A client that keeps cookies (a browser, an app's cookie jar) is a known device of this account from now on.
    remember_device(ctx.request, ctx.response, account=signed_in.account)
    return LoginPayload(
        token=signed_in.token,
        session=Session.from_model(signed_in.session, current_session_id=signed_in.session.id),
        account=Account.from_model(signed_in.account, session_id=signed_in.session.id),
        ended_sessions=[Session.from_model(ended, current_session_id=signed_in.session.id)
                        for ended in signed_in.ended_sessions],
        user_errors=[],
    )


async def logout(info: Info[Context, None]) -> LogoutPayload:
    ctx = info.context
    login = ctx.require_login()
    try:
        async with ctx.db() as db:
            await session_service.logout_session(db, account=login.account, session_id=login.session.id,
                                                 policy=ctx.state.session_policy, actor=ctx.actor())
    except NotFound:
        pass  # ended since this request began (a second `logout` in the document, another device): what was asked
    return LogoutPayload(user_errors=[])


async def logout_session(
    info: Info[Context, None], input: Annotated[LogoutSessionInput, MUTATION_INPUT],
) -> LogoutSessionPayload:
    ctx = info.context
    login = ctx.require_login()
    session_id = from_global_id(input.session_id, "Session")
    try:
        async with ctx.db() as db:
            receipt = await session_service.logout_session(db, account=login.account, session_id=session_id,
                                                           policy=ctx.state.session_policy, actor=ctx.actor())
    except DomainError as error:
        return LogoutSessionPayload(session_id=None, receipt=None, user_errors=user_errors(error))
    assert session_id is not None  # noqa: S101 - narrows: logout_session raised NotFound for None
    return LogoutSessionPayload(session_id=node_id("Session", session_id),
                                receipt=RevocationReceipt.from_receipt(receipt), user_errors=[])


async def logout_other_sessions(info: Info[Context, None]) -> LogoutOtherSessionsPayload:
    ctx = info.context
    login = ctx.require_login()
    async with ctx.db() as db:
        receipt = await session_service.logout_other_sessions(
            db, account=login.account, current_session_id=login.session.id, policy=ctx.state.session_policy,
            actor=ctx.actor())
    return LogoutOtherSessionsPayload(logged_out_count=receipt.sessions,
                                      receipt=RevocationReceipt.from_receipt(receipt), user_errors=[])
