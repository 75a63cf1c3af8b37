"""``userErrors``: business failures a client can show, mapped from the services' domain errors."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.services.errors import DomainError, RateLimited


@strawberry.enum(description="Machine-readable reason of a user error.")
class UserErrorCode(Enum):
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="No such object for this account.")
    INVALID = strawberry.enum_value("INVALID", description="The input cannot be accepted as it is.")
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="Not allowed for this account.")
    RATE_LIMITED = strawberry.enum_value("RATE_LIMITED", description="Too many attempts; retry later.")
    PASSWORD_CHANGE_REQUIRED = strawberry.enum_value(
        "PASSWORD_CHANGE_REQUIRED",
        description="After \"This wasn't me\" (`secureAccount`) this session must `changePassword` before anything "
                    "else.")


@strawberry.type(description="A business failure of a mutation; nothing was changed.")
class UserError:
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault, if any.")
    code: UserErrorCode = strawberry.field(description="Machine-readable reason.")


def user_errors(error: DomainError) -> list[UserError]:
    try:
        code = UserErrorCode(error.code)
    except ValueError:
        code = UserErrorCode.INVALID
    return [UserError(message=error.message, field=error.field, code=code)]


def retry_after(error: DomainError) -> int | None:
    return error.retry_after if isinstance(error, RateLimited) else None
