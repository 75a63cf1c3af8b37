"""An executor that completes plain fields without graphql-core's per-field machinery.

Most of a settings page is fields read straight off an object (``name``, ``device``, ``signedInAt``...) and lists
of objects made of such fields (apps, permissions, sessions): about 250 of its 257 fields. For each field
graphql-core builds a resolve-info object and a path, looks up argument values, calls Strawberry's resolver
wrapper, then walks ``complete_value`` (non-null, list, item, non-null again, object or leaf) before it coerces a
value. Profiling showed that bookkeeping, not the work, was most of the page's execution time.

This executor takes shortcuts for *plain* fields: no resolver, permission or extension of their own, no arguments,
no middleware in the request. It reads them the way Strawberry's default resolver does, then:

* a scalar or enum is coerced with the type's own ``coerce_output_value`` (strings and booleans pass through
  untouched, as that function would leave them);
* an object, or a list of objects, of exactly the type's own class (so its ``is_type_of`` cannot say no) has its
  sub-selection collected and executed as ``complete_value`` would, with graphql-core's own ``handle_field_error``
  at the same paths, the same null propagation and the same awaiting of asynchronous parts.

Anything unusual (a null, an awaitable, an Exception, a directive, a tuple for a list, an object of another class,
a value that fails to coerce, a hand-written ``is_type_of``, an abstract type) is completed by graphql-core's own
``complete_value`` from the value already read, exactly as ``execute_field`` would. ``tests/graphql/test_executor``
runs every such case against both executors and requires identical data and errors.

A selection that is plain all the way down (a connection's nodes and everything under them) does not even need
that interpretation: it runs as code compiled once per document (``app.graphql.compiled``), both under a plain
field and under a resolver's result. When that code meets something unusual it gives up, and the value is
completed as above.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from graphql.pyutils import is_awaitable as default_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from app.graphql.compiled import Compiled, SpreadFragments, compile_selection
from app.graphql.plain import PASS_THROUGH, ReadFailed, inert_types, is_inert, plain_object_class, plain_reader

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


# (response name, its field nodes, the field's definition or None for __typename, its plan or None, and for a plain
# leaf its reader, attribute, type and pass-through type, unpacked so the hot loop reads locals, not attributes)
_FieldPlan = tuple[str, list[FieldDetails], GraphQLField | None, _Plain | None,
                   Callable[[Any, str], Any] | None, str | None, GraphQLLeafType | None, type | None]


# Per field definition (schemas live as long as the process): how to read it, or None when no shortcut applies.
# Keyed by id() because graphql-core's field objects are not hashable; each entry keeps its field alive, so the id
# cannot be reused while the entry exists.
_plans: dict[int, tuple[GraphQLField, _Plain | None]] = {}


def _plan(field_def: GraphQLField) -> _Plain | None:
    reader = plain_reader(field_def)
    if reader is None:
        return None
    read, attribute = reader
    nullable = get_nullable_type(field_def.type)
    if is_leaf_type(nullable):
        return _Plain(read, attribute, leaf=nullable, leaf_passes=PASS_THROUGH.get(id(nullable)))  # type: ignore[arg-type]
    item_type = nullable.of_type if isinstance(nullable, GraphQLList) else None
    object_type = get_nullable_type(item_type) if item_type is not None else nullable
    if isinstance(item_type, GraphQLList) or not isinstance(object_type, GraphQLObjectType):
        return None
    object_class = plain_object_class(object_type)
    if object_class is None:
        return None
    return _Plain(read, attribute, object_type=object_type, object_class=object_class, item_type=item_type)


def _plan_of(field_def: GraphQLField) -> _Plain | None:
    cached = _plans.get(id(field_def))
    if cached is None:
        cached = _plans[id(field_def)] = (field_def, _plan(field_def))
    return cached[1]


# Compiled selections, per return type and field nodes. The parser cache hands back the same document for a
# repeated query, so its nodes' identities key a selection across requests; each entry holds its type and nodes,
# so no id can be reused while the entry exists. Documents that are not cached (each parse makes new nodes) would
# add entries without end, so the table is cleared past its bound, like the other caches here.
_compiled: dict[tuple[int, ...], tuple[tuple[Any, ...], Compiled | None, SpreadFragments]] = {}
_COMPILED_SIZE = 1024


# Awaitables a resolver hands to ``info.async_helpers.track`` after its execution has been freed (see below).
_orphans: set[asyncio.Future[Any]] = set()


def _helpers_of(executor: PlainFieldExecutor) -> GraphQLResolveInfoHelpers:
    """graphql-core's ``info.async_helpers`` without the reference cycle between them and the executor.

    graphql-core builds the helpers from the executor's bound methods and keeps them on the executor, so every
    executor is in a cycle, and with it everything the request holds (its context, session, rows and objects) waits
    for the garbage collector instead of being freed when the response is sent: on the settings page that was a
    gen-0 collection every four or five requests. These helpers do the same through a weak reference. Only a
    resolver that keeps its ``info`` after the execution has been freed can tell: its late awaitables are then
    settled on their own, with nothing left to report their errors to.
    """
    executor_ref = weakref.ref(executor)

    def track(values: Sequence[Any]) -> None:
        live = executor_ref()
        if live is not None:
            live.track_async_work(values)
            return
        awaitables = [value for value in values if default_is_awaitable(value)]
        if awaitables:
            settled = asyncio.gather(*awaitables, return_exceptions=True)
            _orphans.add(settled)
            settled.add_done_callback(_orphans.discard)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        live = executor_ref()
        return live.gather_async_work(values) if live is not None else gather_with_cancel(*values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class PlainFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with the plain-field shortcuts in ``execute_fields`` (the rest is graphql-core's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers_of(self)
        # Strawberry always passes a middleware manager; it is empty unless an extension wraps every resolver, and
        # then every field must go through it.
        manager = self.middleware_manager
        self._shortcuts = manager is None or not manager.middlewares
        # Per request: each grouped field set's fields with their plans. graphql-core memoizes sub-selections per
        # request, so a list of 50 permissions looks its fields up once, not 50 times. Each entry holds its field
        # set, so an id cannot be reused while the entry exists.
        self._field_plans: dict[int, tuple[GroupedFieldSet, list[_FieldPlan]]] = {}

    def _plans_for(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> list[_FieldPlan]:
        """Plan a grouped field set's fields and remember them (``execute_fields`` looks the plans up inline)."""
        fields, planned = parent_type.fields, []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = fields.get(node.name.value)  # None for __typename: execute_field knows it
            plain = _plan_of(field_def) if self._shortcuts and field_def and not node.arguments else None
            leaf = plain and plain.leaf
            planned.append((response_name, field_details_list, field_def, plain,  # type: ignore[arg-type]
                            plain.read if leaf else None, plain.attribute if leaf else None, leaf,
                            plain.leaf_passes if leaf else None))
        self._field_plans[id(grouped_field_set)] = (grouped_field_set, planned)
        return planned

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
        known_inert = inert_types
        cached = self._field_plans.get(id(grouped_field_set))
        plans = cached[1] if cached is not None and cached[0] is grouped_field_set else self._plans_for(
            parent_type, grouped_field_set)
        try:
            for response_name, field_details_list, field_def, plain, read, attribute, leaf, passes in plans:
                if plain is None:
                    result = self.execute_field(parent_type, source_value, field_details_list,
                                                Path(path, response_name, parent_type.name), position_context)
                else:
                    if leaf is not None:  # inline: a page has ~200 of these
                        try:
                            value = read(source_value, attribute)  # type: ignore[misc,arg-type]
                        except Exception as error:  # noqa: BLE001 - reported below, as a resolver's error would be
                            value = ReadFailed(error)
                        kind = type(value)
                        if kind is passes:
                            results[response_name] = value
                            continue
                        if value is not None and (known_inert.get(kind) or is_inert(kind)):
                            try:
                                coerced = leaf.coerce_output_value(value)
                            except Exception:  # noqa: BLE001 - graphql-core coerces it again below and reports it
                                coerced = None
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                    else:
                        try:
                            value = plain.read(source_value, plain.attribute)
                        except Exception as error:  # noqa: BLE001 - as above
                            value = ReadFailed(error)
                    result = self._complete_plain(plain, parent_type, field_def, field_details_list,
                                                  Path(path, response_name, parent_type.name), value,
                                                  position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if type(result) is not dict and result is not None and is_awaitable(result):
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
        """A plain field whose value was read: an object or list of objects runs compiled or takes the shortcut;
        anything else is completed exactly as ``execute_field`` completes a resolver's result. The field's value is
        never read twice; when compiled code gives up, the fields under it are read again, which for plain fields
        (attribute reads) changes nothing."""
        if plain.object_type is not None and not isinstance(value, (ReadFailed, Exception)):
            if position_context is None:
                completed = self._run_compiled(field_def.type, field_details_list, value)
                if completed is not _SKIP:
                    return completed
            completed = self._object_value(plain, field_def, field_details_list, field_path, value, position_context)
            if completed is not _SKIP:
                return completed
        return self._complete_resolved(parent_type, field_def, field_details_list, field_path, value,
                                       position_context)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """A resolver's result: a plain selection under it runs compiled (a connection, say); else graphql-core's."""
        if position_context is None and self._shortcuts and isinstance(get_named_type(return_type), GraphQLObjectType):
            completed = self._run_compiled(return_type, field_details_list, result)
            if completed is not _SKIP:
                return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _run_compiled(self, return_type: GraphQLOutputType, field_details_list: list[FieldDetails], value: Any) -> Any:
        """``value`` completed by the selection's compiled code, or ``_SKIP`` when there is none or it gave up (the
        caller then completes the value itself and reports whatever went wrong)."""
        compiled = self._compiled_for(return_type, field_details_list)
        if compiled is not None:
            try:
                return compiled(value)
            except Exception:  # noqa: BLE001 - not the common case: the caller's path reports the error
                pass
        return _SKIP

    def _compiled_for(self, return_type: GraphQLOutputType, field_details_list: list[FieldDetails]) -> Compiled | None:
        """The compiled completion of ``return_type`` for this selection, or None when it has to be interpreted."""
        for details in field_details_list:
            if details.defer_usage is not None or details.fragment_variable_values is not None \
                    or details.node.directives:
                return None  # @stream, inside @defer, or a fragment with variables: depends on the request
        key = (id(return_type), *[id(details.node) for details in field_details_list])
        entry = _compiled.get(key)
        if entry is not None:
            fragments = self.fragments
            for name, definition in entry[2]:  # the fragments it spread must be the ones this document defines
                if (fragments[name].definition if name in fragments else None) is not definition:
                    return None
            return entry[1]
        nodes = to_nodes(field_details_list)
        compiled, spread = compile_selection(self.schema, self.fragments, return_type, nodes)
        if len(_compiled) >= _COMPILED_SIZE:
            _compiled.clear()
        _compiled[key] = ((return_type, *nodes), compiled, spread)
        return compiled

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
            if isinstance(result, ReadFailed):
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

    def _object_value(
        self,
        plain: _Plain,
        field_def: GraphQLField,
        field_details_list: list[FieldDetails],
        field_path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """The completed value of a plain object or list-of-objects field, or ``_SKIP`` when graphql-core must
        complete it (decided before anything of it runs). This is ``complete_value`` for the common case: the same
        sub-field collection and execution, the same error handling per item and per field, the same awaiting."""
        object_type, object_class, item_type = plain.object_type, plain.object_class, plain.item_type
        assert object_type is not None
        if value is None or field_details_list[0].node.directives:  # null handling, @stream: graphql-core's
            return _SKIP
        if item_type is not None and type(value) is not list:
            return _SKIP
        for item in value if item_type is not None else (value,):
            if type(item) is not object_class or getattr(item, TYPE_CAST_ATTRIBUTE, None) is not None:
                return _SKIP
        grouped, new_defer_usages, *_ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages or position_context is not None:  # @defer and its delivery groups: graphql-core's
            return _SKIP

        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        pending: list[int] = []
        try:
            if item_type is None:
                result = self.execute_fields(object_type, value, field_path, grouped, None)
                if is_awaitable(result):
                    return self._settled(result, field_def.type, field_details_list, field_path)
                return result
            execute_fields = self.execute_fields
            for index, item in enumerate(value):
                item_path = Path(field_path, index, None)  # what field_path.add_key(index, None) returns
                try:
                    result = execute_fields(object_type, item, item_path, grouped, None)
                except Exception as error:  # as complete_list_item_value: null the item, or propagate
                    self.handle_field_error(error, item_type, field_details_list, item_path)
                    result = None
                if type(result) is not dict and result is not None and is_awaitable(result):
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
