"""What makes a field or an object "plain": safe to complete without graphql-core's per-field machinery.

Shared by the interpreting shortcuts of ``executor`` and the compiled selections of ``compiled``, so both take the
same fields and objects off graphql-core's path, for the same reasons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from graphql import GraphQLBoolean, GraphQLField, GraphQLID, GraphQLObjectType, GraphQLString
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

# Values of these exact Python types come out of these scalars' coercion unchanged (keyed by the scalar's id).
PASS_THROUGH: dict[int, type] = {id(GraphQLString): str, id(GraphQLID): str, id(GraphQLBoolean): bool}


def plain_reader(field_def: GraphQLField) -> tuple[Callable[[Any, str], Any], str] | None:
    """(Strawberry's default resolver, the attribute it reads) for a field with no resolver, permission,
    extension or argument of its own; None for any other field."""
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    # Strawberry itself marks such a field's resolver as default (``is_basic_field``: no resolver, no extensions).
    # A field class of its own may compute the value in ``get_result``: then the resolver has to run.
    if not (isinstance(definition, StrawberryField) and getattr(field_def.resolve, "_is_default", False)
            and definition.is_basic_field and not field_def.args
            and type(definition).get_result is StrawberryField.get_result):
        return None
    return definition.default_resolver, definition.python_name


def plain_object_class(object_type: GraphQLObjectType) -> type | None:
    """The class whose instances pass ``object_type``'s ``is_type_of`` for sure, or None if that cannot be known."""
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_type_of is not None:
        return None  # not Strawberry's, or a hand-written is_type_of: always ask it
    # Strawberry's generated is_type_of accepts instances of the type's own class that were not cast to another.
    return definition.origin


class ReadFailed:
    """Reading the attribute raised ``error`` (unlike an Exception *returned* as the value, which complete_value
    raises itself)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


# Per value type: whether its values can go straight to coercion, being neither awaitable nor an Exception (which
# graphql-core raises when a resolver returns one). The types a page holds are a handful, so this stays tiny.
inert_types: dict[type, bool] = {}


def is_inert(kind: type) -> bool:
    inert = inert_types.get(kind)
    if inert is None:
        inert = inert_types[kind] = not (issubclass(kind, (BaseException, ReadFailed, Coroutine, Generator, Awaitable))
                                         or hasattr(kind, "__await__"))
    return inert
