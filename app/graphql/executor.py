"""An executor that completes plain fields without graphql-core's per-field machinery.

Most of a settings page is fields read straight off an object (``name``, ``device``, ``signedInAt``...), and small
objects made only of such fields (an app, a permission, a session): about 230 of its 257 fields. For each field
graphql-core builds a resolve-info object and a path, looks up argument values, calls Strawberry's resolver
wrapper, then walks ``complete_value`` (non-null, list, item, non-null again, object or leaf) before it coerces a
value. Profiling showed that bookkeeping, not the work, was most of the page's execution time.

This executor takes shortcuts for exactly those fields, read the way Strawberry's default resolver reads them:

* a *plain leaf*: no resolver, permission or extension of its own, no arguments, a scalar or enum type. Its value
  is coerced with the type's own ``coerce_output_value`` (strings and booleans pass through untouched, as that
  function would leave them);
* a *flat object*, or a list of them: a plain field whose object type has no custom ``is_type_of`` and whose
  selection here is only plain leaves. Its sub-fields run through ``execute_fields`` (so the leaf shortcut), and
  errors are handled with graphql-core's own ``handle_field_error``, at the same paths and with the same null
  propagation as the full path.

Whenever anything is unusual (a null, an awaitable, a directive, an object of another class, a value that fails to
coerce) the field takes graphql-core's normal ``execute_field``, before anything of it has run, so errors, null
handling and error locations stay exactly graphql-core's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import get_strawberry_type_cast
from strawberry.types.field import StrawberryField

# Values of these exact Python types come out of these scalars' coercion unchanged.
_PASS_THROUGH = {id(GraphQLString): str, id(GraphQLID): str, id(GraphQLBoolean): bool}
_SKIP = object()  # "let graphql-core complete this value"


@dataclass(frozen=True, slots=True)
class _Plain:
    """How to read a plain field without graphql-core's resolver call, and what it holds."""

    read: Callable[[Any, str], Any]  # Strawberry's default resolver: getattr unless the schema config says otherwise
    attribute: str
    leaf: GraphQLLeafType | None = None
    leaf_passes: type | None = None  # values of exactly this type need no coercion
    object_type: GraphQLObjectType | None = None  # for an object, or a list of objects
    object_class: type | None = None  # instances of exactly this class need no is_type_of check
    item_type: GraphQLOutputType | None = None  # for a list: its item type, as handle_field_error needs it


@dataclass(frozen=True, slots=True)
class _ReadFailed:
    """Reading the attribute raised ``error`` (unlike an Exception *returned* as the value, which complete_value
    raises itself)."""

    error: Exception


# Per field definition (schemas live as long as the process): how to read it, or None when no shortcut applies.
# Keyed by id() because graphql-core's field objects are not hashable; each entry keeps its field alive, so the id
# cannot be reused while the entry exists.
_plans: dict[int, tuple[GraphQLField, _Plain | None]] = {}


def _plan(field_def: GraphQLField) -> _Plain | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    # Strawberry itself marks such a field's resolver as default (``is_basic_field``: no resolver, no extensions).
    # A field class of its own may compute the value in ``get_result``: then the resolver has to run.
    if not (isinstance(definition, StrawberryField) and getattr(field_def.resolve, "_is_default", False)
            and definition.is_basic_field and not field_def.args
            and type(definition).get_result is StrawberryField.get_result):
        return None
    read, attribute = definition.default_resolver, definition.python_name
    nullable = get_nullable_type(field_def.type)
    if is_leaf_type(nullable):
        return _Plain(read, attribute, leaf=nullable, leaf_passes=_PASS_THROUGH.get(id(nullable)))  # type: ignore[arg-type]
    item_type = nullable.of_type if isinstance(nullable, GraphQLList) else None
    object_type = get_nullable_type(item_type) if item_type is not None else nullable
    if isinstance(item_type, GraphQLList) or not isinstance(object_type, GraphQLObjectType):
        return None
    object_class = _plain_object_class(object_type)
    if object_class is None:
        return None
    return _Plain(read, attribute, object_type=object_type, object_class=object_class, item_type=item_type)


def _plain_object_class(object_type: GraphQLObjectType) -> type | None:
    """The class whose instances pass ``object_type``'s ``is_type_of`` for sure, or None if that cannot be known."""
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition) or definition.is_type_of is not None:
        return None  # not Strawberry's, or a hand-written is_type_of: always ask it
    # Strawberry's generated is_type_of accepts instances of the type's own class that were not cast to another.
    return definition.origin


def _coerced(leaf: GraphQLLeafType, value: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """A plain leaf's value coerced for output, or ``_SKIP`` for graphql-core's completion (which reports any
    failure; an Exception returned as a value is raised there, as graphql-core does)."""
    if isinstance(value, (_ReadFailed, Exception)) or is_awaitable(value):
        return _SKIP
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - the full path coerces it again and reports the error where graphql-core does
        return _SKIP
    return _SKIP if coerced is None or coerced is Undefined else coerced


def _plan_of(field_def: GraphQLField) -> _Plain | None:
    cached = _plans.get(id(field_def))
    if cached is None:
        cached = _plans[id(field_def)] = (field_def, _plan(field_def))
    return cached[1]


class FastLeafExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with the plain-field shortcuts in ``execute_fields`` (the rest is graphql-core's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request: whether a collected sub-selection (memoized by graphql-core, so stable by id) is all plain
        # leaves. The grouped field sets are kept alive by graphql-core's own memo for the whole request.
        self._flat_selections: dict[int, bool] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        # Strawberry always passes a manager; it is empty unless an extension wraps every resolver.
        manager = self.middleware_manager
        shortcut = manager is None or not manager.middlewares
        fields = parent_type.fields
        plans = _plans
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                plain = None
                if shortcut and not node.arguments:
                    field_def = fields.get(node.name.value)  # None for __typename: execute_field knows it
                    cached = plans.get(id(field_def))
                    plain = cached[1] if cached is not None else field_def and _plan_of(field_def)
                if plain is None:
                    result = self.execute_field(parent_type, source_value, field_details_list,
                                                Path(path, response_name, parent_type.name), position_context)
                else:
                    try:
                        value = plain.read(source_value, plain.attribute)
                    except Exception as error:  # noqa: BLE001 - reported below, as a resolver's error would be
                        value = _ReadFailed(error)
                    if plain.leaf is not None and value is not None:  # inline: a page has ~200 of these
                        if type(value) is plain.leaf_passes:
                            results[response_name] = value
                            continue
                        coerced = _coerced(plain.leaf, value, is_awaitable)
                        if coerced is not _SKIP:
                            results[response_name] = coerced
                            continue
                    result = self._complete_plain(plain, parent_type, field_def, field_details_list,  # type: ignore[arg-type]
                                                  Path(path, response_name, parent_type.name), value,
                                                  position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # settle what other fields started: they may fail too
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _complete_plain(
        self,
        plain: _Plain,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        field_details_list: list[FieldDetails],
        field_path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """A plain field whose value was read: a flat object or list takes the shortcut; anything else is completed
        exactly as ``execute_field`` completes a resolver's result (the value is never read twice)."""
        if plain.object_type is not None and not isinstance(value, (_ReadFailed, Exception)):
            flat = self._flat_value(plain, field_def, field_details_list, field_path, value, position_context)
            if flat is not _SKIP:
                return flat
        return self._complete_resolved(parent_type, field_def, field_details_list, field_path, value,
                                       position_context)

    def _complete_resolved(
        self,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        field_details_list: list[FieldDetails],
        field_path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """What ``execute_field`` does once its resolver returned ``result`` (or raised it): same calls, same order."""
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, field_path)
        try:
            if isinstance(result, _ReadFailed):
                raise result.error
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info, field_path, result,
                                                     position_context)
            completed = self.complete_value(return_type, field_details_list, info, field_path, result,
                                            position_context)
            if self.is_awaitable(completed):
                return self._settled(completed, return_type, field_details_list, field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
        return completed

    def _flat_value(
        self,
        plain: _Plain,
        field_def: GraphQLField,
        field_details_list: list[FieldDetails],
        field_path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """The completed value of a flat object or list field, or ``_SKIP`` when graphql-core must complete it
        (checked before anything of it runs)."""
        object_type, object_class, item_type = plain.object_type, plain.object_class, plain.item_type
        assert object_type is not None
        if value is None or field_details_list[0].node.directives:  # null handling, @stream: graphql-core's
            return _SKIP
        if item_type is not None and type(value) is not list:
            return _SKIP
        for item in value if item_type is not None else (value,):
            if type(item) is not object_class or get_strawberry_type_cast(item) is not None:
                return _SKIP
        grouped, new_defer_usages, *_ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages or not self._is_flat(object_type, grouped):
            return _SKIP

        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        pending: list[int] = []
        try:
            if item_type is None:
                result = self.execute_collected_subfields(object_type, value, field_path, grouped, new_defer_usages,
                                                          position_context)
                if is_awaitable(result):
                    return self._settled(result, field_def.type, field_details_list, field_path)
                return result
            for index, item in enumerate(value):
                item_path = field_path.add_key(index, None)
                try:
                    result = self.execute_collected_subfields(
                        object_type, item, item_path, grouped, new_defer_usages, position_context)
                except Exception as error:  # as complete_list_item_value: null the item, or propagate
                    self.handle_field_error(error, item_type, field_details_list, item_path)
                    result = None
                if is_awaitable(result):
                    result = self._settled(result, item_type, field_details_list, item_path)
                    pending.append(index)
                completed.append(result)
        except Exception as error:  # as execute_field: null the field, or propagate to the parent
            if pending:
                self.settle_in_background([completed[index] for index in pending])
            self.handle_field_error(error, field_def.type, field_details_list, field_path)
            return None
        if not pending:
            return completed

        async def gather_items() -> list[Any]:
            if len(pending) == 1:  # as graphql-core: one pending item is awaited, not gathered
                completed[pending[0]] = await completed[pending[0]]
                return completed
            awaited = await gather_with_cancel(*(completed[index] for index in pending))
            for index, item in zip(pending, awaited, strict=True):
                completed[index] = item
            return completed

        return self._settled(gather_items(), field_def.type, field_details_list, field_path)

    async def _settled(
        self, awaitable: Any, return_type: GraphQLOutputType, field_details_list: list[FieldDetails], path: Path
    ) -> Any:
        """Await a completion, handling its error as graphql-core does for the field or item at ``path``."""
        try:
            return await awaitable
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None

    def _is_flat(self, object_type: GraphQLObjectType, grouped: GroupedFieldSet) -> bool:
        """Every field of this sub-selection is a plain leaf: its execution never needs a resolver or an info."""
        known = self._flat_selections.get(id(grouped))
        if known is None:
            fields = object_type.fields
            known = True
            for field_details_list in grouped.values():
                node = field_details_list[0].node
                field_def = fields.get(node.name.value)
                plain = _plan_of(field_def) if field_def is not None else None
                if node.arguments or plain is None or plain.leaf is None:
                    known = False
                    break
            self._flat_selections[id(grouped)] = known
        return known
