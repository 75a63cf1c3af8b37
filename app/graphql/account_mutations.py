"""Mutations on the signed-in account itself: changing the password, and "This wasn't me"."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import Info

from app.graphql.arguments import MUTATION_INPUT
from app.graphql.context import Context
from app.graphql.errors import UserError, retry_after, user_errors
from app.graphql.types import RevocationReceipt
from app.http.auth import client_ip
from app.services import password_change
from app.services import secure_account as secure_account_service
from app.services.errors import DomainError


@strawberry.input(description="Input of `changePassword`.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(
        description="At least 8 characters, not containing the username, not a common password.")
    logout_other_sessions: bool = strawberry.field(
        default=True, description="End every other session of the account (this one stays signed in).")
    revoke_apps: bool = strawberry.field(
        default=False,
        description="Also revoke every connected app: do this after giving your password to an app you distrust.")


@strawberry.type(description="Result of `changePassword`.")
class ChangePasswordPayload:
    logged_out_session_count: int = strawberry.field(description="How many other sessions ended.")
    revoked_app_count: int = strawberry.field(description="How many connected apps were revoked.")
    receipt: RevocationReceipt | None = strawberry.field(
        description="The sessions and the apps' tokens that ended; null when nothing changed.")
    user_errors: list[UserError] = strawberry.field(
        description="`INVALID` on `currentPassword` or `newPassword`, or `RATE_LIMITED`; nothing changed then.")


async def change_password(
    info: Info[Context, None], input: Annotated[ChangePasswordInput, MUTATION_INPUT],
) -> ChangePasswordPayload:
    ctx = info.context
    login = ctx.require_login()
    await ctx.release_connection()  # two argon2 runs come first
    try:
        async with ctx.db() as db:
            changed = await password_change.change_password(
                db, account=login.account, current_session_id=login.session.id, policy=ctx.state.session_policy,
                current_password=input.current_password, new_password=input.new_password,
                logout_other_sessions=input.logout_other_sessions, revoke_apps=input.revoke_apps,
                ip_address=client_ip(ctx.request), limiter=ctx.state.login_limiter, actor=ctx.actor())
    except DomainError as error:
        if (seconds := retry_after(error)) is not None:
            ctx.response.headers["Retry-After"] = str(seconds)
            ctx.response.status_code = 429
        return ChangePasswordPayload(logged_out_session_count=0, revoked_app_count=0, receipt=None,
                                     user_errors=user_errors(error))
    login.session.must_change_password = False  # the rest of this request may act again
    return ChangePasswordPayload(logged_out_session_count=changed.logged_out_sessions,
                                 revoked_app_count=changed.revoked_apps,
                                 receipt=RevocationReceipt.from_receipt(changed.receipt), user_errors=[])


@strawberry.input(description="Input of `secureAccount`.")
class SecureAccountInput:
    revoke_apps: bool = strawberry.field(
        default=True, description="Also revoke every connected app (the default); false keeps them connected.")


@strawberry.type(description="Result of `secureAccount`.")
class SecureAccountPayload:
    receipt: RevocationReceipt | None = strawberry.field(
        description="The other sessions and the apps' tokens that ended.")
    revoked_app_count: int = strawberry.field(description="How many connected apps were revoked.")
    user_errors: list[UserError] = strawberry.field(
        description="`PASSWORD_CHANGE_REQUIRED` when this session already used it and has not changed the password.")


async def secure_account(
    info: Info[Context, None], input: Annotated[SecureAccountInput, MUTATION_INPUT],
) -> SecureAccountPayload:
    ctx = info.context
    login = ctx.require_login()
    async with ctx.db() as db:
        secured = await secure_account_service.secure_account(
            db, account=login.account, current_session_id=login.session.id, policy=ctx.state.session_policy,
            revoke_apps=input.revoke_apps, actor=ctx.actor())
    login.session.must_change_password = True  # the rest of this document is held to it too
    return SecureAccountPayload(receipt=RevocationReceipt.from_receipt(secured.receipt),
                                revoked_app_count=secured.revoked_apps, user_errors=[])
