"""Differential tests: ``PlainFieldExecutor`` must give exactly the results of Strawberry's default executor.

The executor skips graphql-core's per-field machinery for plain fields, and runs plain selections as compiled
code (``app.graphql.compiled``), falling back to its interpreting shortcuts and to graphql-core for anything
unusual. Its whole promise is that data and errors (message, path, locations, null propagation) stay identical to
graphql-core's. So every query here runs
against two copies of one small standalone schema, one per executor, and the results must match: the ``repr`` of
the data (so ``1`` vs ``True`` or a different key order count) and the formatted errors. A few tests also check the
expected result itself, and that the shortcut really ran, so the comparison cannot pass vacuously.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Callable
from enum import Enum
from types import SimpleNamespace
from typing import Annotated, Any, Generic, NewType, TypeVar

import pytest
import strawberry
from graphql import DocumentNode, parse
from graphql import execute as graphql_execute
from strawberry.directive import DirectiveLocation, DirectiveValue
from strawberry.extensions import ParserCache
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from app.graphql import compiled as compiled_module
from app.graphql import executor as executor_module
from app.graphql.executor import PlainFieldExecutor

T = TypeVar("T")


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


# A scalar whose serializer turns None into a value: graphql-core never asks it about None (a null is an error or
# null before coercion), so neither may a shortcut.
Lenient = strawberry.scalar(NewType("Lenient", object), name="Lenient", serialize=lambda value: str(value),
                            parse_value=lambda value: value)


@strawberry.type
class Leafy:
    text: str
    count: int
    ratio: float
    flag: bool
    ident: strawberry.ID
    color: Color
    when: dt.datetime
    blob: JSON | None = None
    maybe_text: str | None = None
    maybe_count: int | None = None
    lenient: Lenient = "fine"  # type: ignore[valid-type]


@strawberry.type
class Item:
    name: str
    size: int | None = None


class SubItem(Item):
    """Not the Strawberry class itself: the object shortcut must leave it to graphql-core."""


@strawberry.type
class Rich:
    name: str

    @strawberry.field
    def loud(self) -> str:
        return self.name.upper()

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"{self.name} is broken")

    @strawberry.field
    def strict(self) -> str:
        raise ValueError(f"{self.name} is strictly broken")


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):  # implements an interface, so Strawberry generates an is_type_of
    legs: int


@strawberry.type
class Robot:
    model: str


@strawberry.type
class Checked:
    name: str

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Checked) and obj.name != "reject"


class Doubled(StrawberryField):
    """A field class whose ``get_result`` Strawberry honours even for a field without a resolver."""

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: Any) -> Any:
        return super().get_result(source, info, args, kwargs) * 2


@strawberry.type
class Page(Generic[T]):
    """A generic type: its objects are instances of ``Page``, not of the class Strawberry makes for ``ItemPage``."""

    entries: list[T]
    total: int


@strawberry.type
class Holder:
    leafy: Leafy | None
    item: Item | None
    required_item: Item
    items: list[Item] | None
    required_items: list[Item]
    maybe_items: list[Item | None] | None
    rich: list[Rich]
    pet: Pet | None
    named: Named | None
    thing: Annotated[Pet | Robot, strawberry.union("Thing")] | None
    checked: Checked | None
    doubled: int = Doubled()
    page: Page[Item] | None = None
    tags: list[str] | None = None
    grid: list[list[int | None]] | None = None


@strawberry.type
class Query:
    holder: Holder | None

    @strawberry.field
    async def async_items(self) -> list[Item]:
        await asyncio.sleep(0)
        return [Item(name="x", size=1), Item(name="y", size=None)]

    @strawberry.field
    async def gathered(self, info: strawberry.Info) -> list[int]:
        """Uses graphql-core's resolver helpers (Strawberry keeps them on the raw info): gather, and track for work
        that finishes on its own."""
        helpers = info._raw_info.async_helpers
        helpers.track([_later(None), "not awaitable"])
        KEPT_INFOS.append(info._raw_info)
        return await helpers.gather([_later(1), _later(2)])


KEPT_INFOS: list[Any] = []  # resolver infos kept past their execution, as a careless resolver might


@strawberry.type
class Mutation:
    @strawberry.mutation
    def rename(self, name: str) -> Item:
        return Item(name=name, size=len(name))

    @strawberry.mutation
    def vanish(self) -> Item:
        return Item(name=None)


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def upper(value: DirectiveValue[str]) -> str:
    return value.upper()


def _schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (strawberry.Schema(Query, Mutation, execution_context_class=PlainFieldExecutor, **options),
            strawberry.Schema(Query, Mutation, **options))


SCHEMAS = _schemas()
DIRECTIVE_SCHEMAS = _schemas(directives=[upper])
INCREMENTAL_SCHEMAS = _schemas(config=StrawberryConfig(enable_experimental_incremental_execution=True))
# As in the app: a repeated query is parsed once, so its compiled selections are reused by later requests.
CACHED_SCHEMAS = _schemas(extensions=[ParserCache()])
WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


async def _fail_later(message: str) -> Any:
    await asyncio.sleep(0)
    raise ValueError(message)


class Exploding:
    """Stands in for a ``Leafy`` whose ``text`` property raises."""

    count = 1

    @property
    def text(self) -> str:
        raise RuntimeError("text exploded")


class Denied(Exception):
    """An exception returned as a value: graphql-core reports it as the field's error."""


def _leafy(**overrides: Any) -> Leafy:
    values = {"text": "hi", "count": 3, "ratio": 0.5, "flag": True, "ident": "7", "color": Color.RED, "when": WHEN}
    return Leafy(**values | overrides)


def _named(error: Exception) -> Exception:
    """An exception that also has every attribute its field's type reads: still an error, never data."""
    error.name = "hidden"  # type: ignore[attr-defined]
    return error


def _without_name(item: Item) -> Item:
    del item.name  # reading it raises AttributeError, like a failing property
    return item


def root(**overrides: Any) -> Query:
    values = {
        "leafy": _leafy(), "item": Item(name="one", size=1), "required_item": Item(name="req"),
        "items": [Item(name="a", size=1), Item(name="b", size=2)], "required_items": [Item(name="r")],
        "maybe_items": [Item(name="m")], "rich": [Rich(name="x"), Rich(name="y")], "pet": Pet(name="rex", legs=4),
        "named": Pet(name="tom", legs=4), "thing": Robot(model="r2"), "checked": Checked(name="ok"), "doubled": 21,
        "page": Page(entries=[Item(name="p", size=1)], total=1), "tags": ["x", "y"], "grid": [[1, None], [3]]}
    return Query(holder=Holder(**values | overrides))


Root = Callable[[], Any]


async def run_both(query: str, make_root: Root = root, variables: dict[str, Any] | None = None,
                   schemas: tuple[strawberry.Schema, strawberry.Schema] = SCHEMAS) -> ExecutionResult:
    """Run ``query`` on both executors (each on a fresh root), assert identical results, return the fast one."""
    fast, default = [await schema.execute(query, root_value=make_root(), variable_values=variables)
                     for schema in schemas]
    assert repr(fast.data) == repr(default.data)
    assert [e.formatted for e in fast.errors or []] == [e.formatted for e in default.errors or []]
    return fast


def errors(result: ExecutionResult) -> list[tuple[str, list[str | int] | None]]:
    return [(e.message, e.path) for e in result.errors or []]


LEAVES = "text count ratio flag ident color when blob maybeText maybeCount"
CASES: list[Any] = [  # (query, root factory, variables)
    pytest.param(f"{{ holder {{ leafy {{ {LEAVES} }} }} }}", root, None, id="all-leaf-kinds"),
    pytest.param(f"{{ holder {{ leafy {{ {LEAVES} }} }} }}", lambda: root(leafy=_leafy(
        count=True, ratio=3, text=5, flag=1, ident=7, color="red", blob={"k": [1]})), None, id="loose-leaf-values"),
    pytest.param("{ holder { leafy { count ratio } } }", lambda: root(leafy=_leafy(ratio=float("nan"))), None,
                 id="float-nan-fails-coercion"),
    pytest.param("{ holder { leafy { color } } }", lambda: root(leafy=_leafy(color="purple")), None,
                 id="unknown-enum-value"),
    pytest.param("{ holder { leafy { when } } }", lambda: root(leafy=_leafy(when="2024")), None,
                 id="custom-scalar-fails-coercion"),
    pytest.param("{ holder { items { name size } } }", lambda: root(items=[Item(name="a", size="abc")]), None,
                 id="int-holding-string-in-plain-list"),
    pytest.param("{ holder { items { name } } }", lambda: root(items=[Item(name=[1])]), None,
                 id="non-null-leaf-fails-coercion-in-plain-list"),
    pytest.param("{ holder { leafy { maybeText text } } }", lambda: root(
        leafy=_leafy(maybe_text=_later("soon"), text=_later("now"))), None, id="coroutine-leaves"),
    pytest.param("{ holder { items { name size } } }", lambda: root(items=[
        Item(name="a", size=_fail_later("a failed")), Item(name=_later("b"), size=_fail_later("b failed"))]),
        None, id="coroutine-leaves-failing-in-plain-list"),
    pytest.param("{ holder { items { name } maybeItems { name } } }", lambda: root(
        items=[Item(name=_fail_later("a1")), Item(name=_fail_later("a2"))],
        maybe_items=[Item(name=_later(None)), Item(name=_fail_later("b2")), Item(name="m")]), None,
        id="coroutine-non-null-leaves-failing-in-plain-lists"),
    pytest.param("{ holder { leafy { count text } } }", lambda: root(leafy=Exploding()), None,
                 id="property-raises"),
    pytest.param("{ holder { items { size name } } }", lambda: root(items=[_without_name(Item(name="a", size=1))]),
                 None, id="attribute-read-raises-in-plain-list"),
    pytest.param("{ holder { item { name } } }", lambda: root(item=None), None, id="nullable-plain-object-none"),
    pytest.param("{ holder { requiredItem { name } } }", lambda: root(required_item=None), None,
                 id="non-null-plain-object-none"),
    pytest.param("{ holder { item { name } } }", lambda: root(item=Item(name=None)), None,
                 id="non-null-leaf-none-in-nullable-plain-object"),
    pytest.param("{ holder { maybeItems { name size } } }", lambda: root(maybe_items=[Item(name="a"), None]), None,
                 id="none-item-in-list-of-nullable-items"),
    pytest.param("{ holder { maybeItems { name } } }", lambda: root(maybe_items=[Item(name=None), Item(name="b")]),
                 None, id="non-null-leaf-none-in-nullable-item"),
    pytest.param("{ holder { items { name } } }", lambda: root(items=[Item(name="a"), None]), None,
                 id="none-item-in-list-of-non-null-items"),
    pytest.param("{ holder { items { name } } }", lambda: root(items=(Item(name="a"), Item(name="b"))), None,
                 id="tuple-instead-of-list"),
    pytest.param("{ holder { items { name } } }", lambda: root(items=(Item(name=n) for n in "ab")), None,
                 id="generator-instead-of-list"),
    pytest.param("{ holder { items { name } item { name } } }", lambda: root(
        items=[Item(name="a"), SubItem(name="sub")], item=SubItem(name="s")), None, id="subclass-instances"),
    pytest.param("{ holder { items { n: name name name size } first: item { name } second: item { size } } }",
                 root, None, id="aliases-and-repeated-fields"),
    pytest.param("query { holder { items { ...Bits ... on Item { size } } item { ... on Item { name } } } } "
                 "fragment Bits on Item { name }", root, None, id="fragments-and-inline-fragments"),
    pytest.param("query($no: Boolean!, $yes: Boolean!) { holder { items @include(if: $yes) { name size @skip(if: $no) }"
                 " item @skip(if: $yes) { name } requiredItem @include(if: $no) { name @include(if: $yes) } } }",
                 root, {"no": True, "yes": True}, id="skip-and-include-with-variables"),
    pytest.param("{ holder { __typename items { __typename name } } }", root, None, id="typename"),
    pytest.param("{ holder { rich { name loud broken } } }", root, None, id="resolver-sibling-raises-in-list"),
    pytest.param("{ holder { rich { name strict } } }", root, None, id="non-null-resolver-sibling-raises-in-list"),
    pytest.param("{ holder { named { name ... on Pet { legs } } thing { __typename ... on Robot { model } } } }",
                 root, None, id="interface-and-union-fields"),
    pytest.param("{ holder { pet { name legs } } }", root, None, id="interface-implementation-as-plain-object"),
    pytest.param("{ holder { pet { name legs } } }", lambda: root(pet=strawberry.cast(Robot, Pet(name="x", legs=1))),
                 None, id="object-cast-to-another-type"),
    pytest.param("{ holder { checked { name } } }", root, None, id="custom-is-type-of-accepts"),
    pytest.param("{ holder { checked { name } } }", lambda: root(checked=Checked(name="reject")), None,
                 id="custom-is-type-of-rejects"),
    pytest.param('mutation { a: rename(name: "ab") { name size } b: rename(name: "c") { name } }', root, None,
                 id="mutations-return-plain-objects"),
    pytest.param("{ asyncItems { name size } }", root, None, id="async-resolver-returns-plain-list"),
    pytest.param("{ gathered }", root, None, id="resolver-uses-async-helpers"),
    pytest.param("{ holder { page { entries { name size } total } } }", root, None, id="generic-type"),
    pytest.param("{ holder { page { entries { name } } } }", lambda: root(page=SimpleNamespace(entries=[
        SimpleNamespace(name="duck", size=0)])), None, id="duck-typed-objects-of-types-without-is-type-of"),
    pytest.param("{ holder { page { total } } }", lambda: root(page=SimpleNamespace()), None,
                 id="duck-typed-object-missing-attribute"),
    pytest.param("{ holder { page { entries { name } } } }", lambda: root(page=Page(entries=[
        Item(name=_later("soon"))], total=1)), None, id="coroutine-deep-in-compiled-selection"),
    pytest.param("{ holder { page { entries { name } } } }", lambda: root(page=Page(entries=[
        Item(name="a"), _named(Denied("no access"))], total=2)), None, id="exception-as-list-item"),
    pytest.param("{ holder { tags grid } }", root, None, id="lists-of-leaves"),
    pytest.param("{ holder { tags grid } }", lambda: root(tags=["a", None], grid=[[True, 2**40], None]), None,
                 id="bad-values-in-lists-of-leaves"),
    pytest.param("{ holder { tags grid } }", lambda: root(tags=("a",), grid=[(1,)]), None,
                 id="tuples-in-lists-of-leaves"),
    pytest.param("{ holder { leafy { count } } }", lambda: root(leafy=_leafy(count=2**31)), None,
                 id="int-out-of-range"),
    pytest.param("{ holder { leafy { lenient } } }", root, None, id="custom-scalar"),
    pytest.param("{ holder { leafy { lenient } } }", lambda: root(leafy=_leafy(lenient=None)), None,
                 id="none-for-non-null-custom-scalar-that-serializes-none"),
    pytest.param("{ holder { items { name } items { size } ... on Holder { items { n: name } } } }", root, None,
                 id="merged-sub-selections"),
    pytest.param("query { holder { ...H ...H items { ...I } } } fragment H on Holder { item { ...I } } "
                 "fragment I on Item { name ...J } fragment J on Item { size }", root, None,
                 id="nested-and-repeated-fragments"),
]


@pytest.mark.parametrize(("query", "make_root", "variables"), CASES)
async def test_fast_executor_matches_default(query: str, make_root: Root, variables: dict[str, Any] | None) -> None:
    await run_both(query, make_root, variables)


@pytest.mark.parametrize(("query", "make_root", "variables"), CASES)
async def test_compiled_selections_reused_with_other_values_match_default(
        query: str, make_root: Root, variables: dict[str, Any] | None) -> None:
    """The second run of a cached document reuses what the first compiled, on values the first never saw: a plain
    root, then the case's own (which may need the interpreter), then a plain root again."""
    for factory in (root, make_root, root):
        await run_both(query, factory, variables, schemas=CACHED_SCHEMAS)


async def test_plain_selection_runs_compiled_once_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    interpreted: list[str] = []
    compile_selection = compiled_module.compile_selection
    execute_fields = PlainFieldExecutor.execute_fields

    def counting_compile(schema: Any, fragments: Any, return_type: Any, nodes: Any) -> Any:
        compiled.append(str(return_type))
        return compile_selection(schema, fragments, return_type, nodes)

    def counting_execute(self: PlainFieldExecutor, parent_type: Any, *args: Any) -> Any:
        interpreted.append(parent_type.name)
        return execute_fields(self, parent_type, *args)

    monkeypatch.setattr(executor_module, "compile_selection", counting_compile)
    monkeypatch.setattr(PlainFieldExecutor, "execute_fields", counting_execute)
    query = "{ holder { page { entries { name size } total } tags leafy { text when color } } }"
    first = await run_both(query, schemas=CACHED_SCHEMAS)
    second = await run_both(query, lambda: root(tags=["z"]), schemas=CACHED_SCHEMAS)

    assert first.data == {"holder": {"page": {"entries": [{"name": "p", "size": 1}], "total": 1}, "tags": ["x", "y"],
                                     "leafy": {"text": "hi", "when": "2024-01-02T03:04:05+00:00", "color": "RED"}}}
    assert second.data["holder"]["tags"] == ["z"]  # type: ignore[index]
    # The holder's whole selection was compiled on the first request only, and only the root was interpreted.
    assert compiled == ["Holder"]
    assert interpreted == ["Query", "Query"]


async def test_compiled_selections_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor_module, "_COMPILED_SIZE", 2)
    monkeypatch.setattr(executor_module, "_compiled", {})
    for field in ("name", "size", "name size"):
        await run_both(f"{{ holder {{ items {{ {field} }} }} }}")
    assert 0 < len(executor_module._compiled) <= 2


async def test_plain_leaves_and_objects_skip_graphql_cores_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    completed: list[str] = []

    def counting(self: PlainFieldExecutor, return_type: Any, *args: Any) -> Any:
        completed.append(str(return_type))
        return StrawberryGraphQLCoreExecutionContext.complete_value(self, return_type, *args)

    monkeypatch.setattr(PlainFieldExecutor, "complete_value", counting)
    result = await run_both("{ holder { leafy { text count ratio flag ident color when } items { name size } } }")

    assert result.data == {"holder": {
        "leafy": {"text": "hi", "count": 3, "ratio": 0.5, "flag": True, "ident": "7", "color": "RED",
                  "when": "2024-01-02T03:04:05+00:00"},
        "items": [{"name": "a", "size": 1}, {"name": "b", "size": 2}]}}
    # Every field, the root's object included, took a shortcut: graphql-core's completion never ran.
    assert completed == []


NULL = "Cannot return null for non-nullable field Item.name."


@pytest.mark.parametrize(("query", "make_root", "data", "expected_errors"), [
    pytest.param("{ holder { leafy { maybeText maybeCount } } }", root,
                 {"holder": {"leafy": {"maybeText": None, "maybeCount": None}}}, [], id="optional-leaves-none"),
    pytest.param("{ holder { items { name } } }", lambda: root(items=[Item(name="a"), Item(name=None)]),
                 {"holder": {"items": None}}, [(NULL, ["holder", "items", 1, "name"])], id="nullable-list-nulled"),
    pytest.param("{ holder { requiredItems { name } } }", lambda: root(required_items=[Item(name=None)]),
                 {"holder": None}, [(NULL, ["holder", "requiredItems", 0, "name"])], id="non-null-list-nulls-parent"),
    pytest.param('mutation { a: rename(name: "ab") { name } b: vanish { name } }', root,
                 None, [(NULL, ["b", "name"])], id="failed-mutation-nulls-all-data"),
])
async def test_null_propagates_to_nearest_nullable_parent(query: str, make_root: Root, data: Any,
                                                          expected_errors: list[Any]) -> None:
    result = await run_both(query, make_root)
    assert result.data == data
    assert errors(result) == expected_errors


async def test_custom_directive_on_plain_leaf_is_applied() -> None:
    result = await run_both("{ holder { item { name @upper } items { name } } }", schemas=DIRECTIVE_SCHEMAS)
    assert result.data == {"holder": {"item": {"name": "ONE"}, "items": [{"name": "a"}, {"name": "b"}]}}


@pytest.mark.parametrize("query", [
    "{ holder { items @stream(initialCount: 1) { name } } }",
    "{ holder { items { name ... @defer { size } } } }",
    "{ holder { ... @defer { items { name size } } items { name } } }",
])
async def test_defer_and_stream_deliver_the_same_frames(query: str) -> None:
    frames: list[list[dict[str, Any]]] = []
    for schema in INCREMENTAL_SCHEMAS:
        result: Any = await schema.execute(query, root_value=root())
        frames.append([result.initial_result.formatted] + [f.formatted async for f in result.subsequent_results])
    assert frames[0] == frames[1]
    assert frames[0][0]["hasNext"] is True  # really delivered incrementally


async def test_exception_value_of_str_leaf_is_an_error() -> None:
    result = await run_both("{ holder { item { name } } }", lambda: root(item=Item(name=Denied("no access"))))
    assert errors(result) == [("no access", ["holder", "item", "name"])]


async def test_exception_value_of_json_leaf_is_an_error() -> None:
    await run_both("{ holder { leafy { blob } } }", lambda: root(leafy=_leafy(blob=Denied("no access"))))


async def test_field_class_get_result_override_is_used() -> None:
    result = await run_both("{ holder { doubled } }")
    assert result.data == {"holder": {"doubled": 42}}


async def test_error_order_with_one_awaitable_item_per_plain_list() -> None:
    result = await run_both("{ holder { items { name } maybeItems { name } } }", lambda: root(
        items=[Item(name=_fail_later("a"))], maybe_items=[Item(name=_fail_later("b"))]))
    assert errors(result) == [("a", ["holder", "items", 0, "name"]), ("b", ["holder", "maybeItems", 0, "name"])]


def test_reused_nodes_under_another_fragment_definition_do_not_run_the_other_documents_code() -> None:
    """Compiled selections are keyed by their field nodes; a document that shares an operation's nodes with
    another but defines its fragment differently must not get the other document's code."""
    first = parse("query { holder { items { ...Bits } } } fragment Bits on Item { name }")
    other_bits = parse("fragment Bits on Item { size }").definitions[0]
    second = DocumentNode(definitions=(first.definitions[0], other_bits))
    schema = SCHEMAS[0]._schema
    results = [graphql_execute(schema, document, root_value=root(), executor_class=PlainFieldExecutor)
               for document in (first, second, first)]
    assert [result.data for result in results] == [  # type: ignore[union-attr]
        {"holder": {"items": [{"name": "a"}, {"name": "b"}]}},
        {"holder": {"items": [{"size": 1}, {"size": 2}]}},
        {"holder": {"items": [{"name": "a"}, {"name": "b"}]}},
    ]


async def test_async_helpers_kept_after_the_execution_still_settle_work() -> None:
    """The executor's helpers reach it weakly (no reference cycle), so a resolver that keeps its ``info`` may outlive
    the executor: work it then hands to ``track`` must still be run to the end, not dropped."""
    KEPT_INFOS.clear()
    result = await SCHEMAS[0].execute("{ gathered }")
    assert result.data == {"gathered": [1, 2]}
    done: list[str] = []

    async def late_work() -> None:
        await asyncio.sleep(0)
        done.append("settled")

    gc.collect()
    assert executor_module._orphans == set()
    KEPT_INFOS.pop().async_helpers.track([late_work()])
    assert len(executor_module._orphans) == 1  # its executor is gone: settled on its own
    for _ in range(5):
        await asyncio.sleep(0)
    assert done == ["settled"]
    assert executor_module._orphans == set()
