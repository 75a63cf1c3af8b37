"""After "This wasn't me" (``secureAccount``), the session that used it may do nothing but choose a new password.

Every mutation except those in ``ALLOWED`` gets a Strawberry field extension (the library's own way to wrap a
resolver) that answers ``PASSWORD_CHANGE_REQUIRED`` in the payload's ``userErrors`` without running the resolver,
while the signed-in session carries the requirement. It is put on every field of the Mutation type when the schema
module is loaded, so a mutation added later is covered without anyone remembering to: its payload only needs a
``userErrors`` field and no required field other than numbers, flags, text and lists (checked at startup).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.field import StrawberryField

from app.graphql.errors import UserError, UserErrorCode

ALLOWED = frozenset({"change_password"})
MESSAGE = "Choose a new password first: until you do, this session can do nothing else."
_BLANKS: dict[object, Any] = {int: 0, bool: False, str: ""}


def _blank_value(field: StrawberryField) -> Any:
    kind = field.type
    if isinstance(kind, StrawberryOptional):
        return None
    if isinstance(kind, StrawberryList):
        return []
    if kind in _BLANKS:
        return _BLANKS[kind]
    raise TypeError(f"{field.python_name}: a payload field of type {kind!r} has no empty value; make it optional")


def blank_payload_factory(payload: Any) -> Callable[[], Any]:
    """A function building ``payload`` with nothing in it but the PASSWORD_CHANGE_REQUIRED user error."""
    if not has_object_definition(payload):
        raise TypeError(f"{payload!r} is not a Strawberry type")
    fields = payload.__strawberry_definition__.fields
    if "user_errors" not in {field.python_name for field in fields}:
        raise TypeError(f"{payload.__name__} has no userErrors to say that a new password is required")
    blanks = {field.python_name: _blank_value(field) for field in fields
              if field.python_name != "user_errors" and field.base_resolver is None}
    make: Any = payload  # a Strawberry type's constructor takes its fields by name

    def build() -> Any:
        error = UserError(message=MESSAGE, field=None, code=UserErrorCode.PASSWORD_CHANGE_REQUIRED)
        values = {name: list(value) if isinstance(value, list) else value for name, value in blanks.items()}
        return make(**values, user_errors=[error])

    return build


def _must_change_password(info: Any) -> bool:
    login = info.context.login
    return login is not None and bool(login.session.must_change_password)


class PasswordChangeRequired(FieldExtension):
    """Answer with the blank payload while the session must choose a new password."""

    def __init__(self, blank: Callable[[], Any]) -> None:
        self.blank = blank

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        return self.blank() if _must_change_password(info) else next_(source, info, **kwargs)

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any,
                            **kwargs: Any) -> Any:
        if _must_change_password(info):
            return self.blank()
        return await next_(source, info, **kwargs)


def require_new_password_first(mutation: type) -> None:
    """Put the extension on every mutation of ``mutation`` but the ``ALLOWED`` ones (once)."""
    for field in mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if field.python_name in ALLOWED or any(isinstance(e, PasswordChangeRequired) for e in field.extensions):
            continue
        payload = field.type
        if not isinstance(payload, type):
            raise TypeError(f"mutation {field.python_name} must return a payload type")
        field.extensions.append(PasswordChangeRequired(blank_payload_factory(payload)))
