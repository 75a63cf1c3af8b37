"""Plain selections compiled once per document into Python functions that build the response directly.

``executor.PlainFieldExecutor`` already skips graphql-core's per-field machinery for plain fields, but it still
interprets the selection on every request: it collects each object's sub-fields, looks up every field's plan and
walks ``execute_fields`` once per object. On the settings page that interpretation was most of what GraphQL added
over a hand-written endpoint. The selections a client sends are the same on every request (the parser cache hands
back the same document), so this module turns a selection into code once, the way a hand-written endpoint would
be written, and runs that code on every later request:

    def object_1(o):
        if type(o) is not ConnectedApp or getattr(o, CAST, None) is not None: raise Bail
        v = o.id
        r0 = v if type(v) is str else leaf_2(v)
        ...
        return {"id": r0, "app": r1, "permissions": r2}

A selection compiles only when everything under it is plain: fields with no resolver, permission, extension or
arguments, no directive anywhere (so neither variables nor ``@defer`` can change what is collected), no interfaces
or unions, no fragment variables, and object types that either have no ``is_type_of`` (graphql-core then completes
any object) or Strawberry's generated one (then only objects of exactly the type's class, not cast to another,
take the compiled path, as that check cannot say no to them).

The code covers the common case only. Anything else it meets at run time (a null where the type forbids one, an
awaitable, an Exception, a value that fails to coerce, a tuple for a list, an object of another class, a read that
raises) raises, and the caller completes the value from scratch with the interpreting executor, which reports it
exactly as graphql-core would. Nothing is written before that, and reading a plain field has no side effect
(Strawberry's default resolver reads an attribute), so starting over is safe. ``tests/graphql/test_executor``
runs every such case against graphql-core's own executor and requires identical data and errors.
"""

from __future__ import annotations

import functools
import keyword
from collections.abc import Callable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import FragmentDetails, does_fragment_condition_match
from graphql.pyutils import Undefined
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from app.graphql.plain import PASS_THROUGH, inert_types, is_inert, plain_object_class, plain_reader

Compiled = Callable[[Any], Any]  # a raw value -> its completed value; raises when the interpreter must take over
# The named fragments a selection looked up, with the definitions it found (None where the document had none): the
# same field nodes belong to the same document, but a caller reusing them checks these still hold.
SpreadFragments = tuple[tuple[str, FragmentDefinitionNode | None], ...]
_INT_RANGE = (-(2**31), 2**31 - 1)  # what GraphQLInt.coerce_output_value accepts as it is


class Bail(Exception):
    """This value needs the interpreting executor (raised, never reported). Always raised as the class: a fresh
    instance each time, as a shared one would pile up tracebacks."""


def _coerce_leaf(leaf: GraphQLLeafType, value: Any) -> Any:
    """A leaf value of a non-null position as graphql-core's ``complete_leaf_value`` returns it, or ``Bail`` where
    that would fail, and where graphql-core would not coerce the value at all: None (a null error), an awaitable or an
    Exception."""
    if value is None or not is_inert(type(value)):
        raise Bail
    coerced = leaf.coerce_output_value(value)
    if coerced is None or coerced is Undefined:
        raise Bail
    return coerced


class _Uncompilable(Exception):
    """The selection is not plain all the way down."""


class _Compiler:
    """Writes the source of one selection's functions, with the objects they use in ``names``."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDetails]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"Bail": Bail, "CAST": TYPE_CAST_ATTRIBUTE, "INERT": inert_types,
                                      "is_inert": is_inert}
        self.count = 0
        self.spread: dict[str, FragmentDefinitionNode | None] = {}

    def name(self, prefix: str, value: Any = None) -> str:
        self.count += 1
        name = f"{prefix}_{self.count}"
        if value is not None:
            self.names[name] = value
        return name

    def value(self, type_: GraphQLOutputType, nodes: Sequence[FieldNode], source: str, target: str,
              indent: str) -> list[str]:
        """Lines that set ``target`` to the completed ``source`` (a local variable) of ``type_``."""
        if isinstance(type_, GraphQLNonNull):
            return self.non_null(type_.of_type, nodes, source, target, indent)
        inner = self.non_null(type_, nodes, source, target, indent + "    ")
        return [f"{indent}if {source} is None:", f"{indent}    {target} = None", f"{indent}else:", *inner]

    def non_null(self, type_: GraphQLOutputType, nodes: Sequence[FieldNode], source: str, target: str,
                 indent: str) -> list[str]:
        """Lines for a ``source`` that must not be None (``Bail`` when it is)."""
        if isinstance(type_, GraphQLList):
            item = self.item_function(type_.of_type, nodes)
            return [f"{indent}if type({source}) is not list: raise Bail",
                    f"{indent}{target} = [{item}(item) for item in {source}]"]
        if isinstance(type_, GraphQLObjectType):
            return [f"{indent}{target} = {self.object_function(type_, nodes)}({source})"]
        if isinstance(type_, GraphQLLeafType):
            return [f"{indent}{target} = {self.leaf_expression(type_, source)}"]
        raise _Uncompilable  # an interface or union: its runtime type needs resolve_type

    def leaf_expression(self, leaf: GraphQLLeafType, source: str) -> str:
        coerce = self.name("leaf", functools.partial(_coerce_leaf, leaf))
        if leaf is GraphQLInt:  # ints in range pass as they are; bools, floats and big ints are coerced
            low, high = _INT_RANGE
            return f"{source} if type({source}) is int and {low} <= {source} <= {high} else {coerce}({source})"
        passes = PASS_THROUGH.get(id(leaf))
        if passes is not None:
            type_name = self.name("type", passes)
            return f"{source} if type({source}) is {type_name} else {coerce}({source})"
        # Custom scalars (DateTime) and enums: None was ruled out, so this is complete_leaf_value's own call.
        return f"{coerce}({source})"

    def item_function(self, item_type: GraphQLOutputType, nodes: Sequence[FieldNode]) -> str:
        """A function completing one list item (an object's own function when items are non-null objects: its
        class check already refuses None)."""
        if isinstance(item_type, GraphQLNonNull) and isinstance(item_type.of_type, GraphQLObjectType):
            return self.object_function(item_type.of_type, nodes)
        function = self.name("item")
        body = self.value(item_type, nodes, "item", "result", "    ")
        self.lines += [f"def {function}(item):", *body, "    return result", ""]
        return function

    def object_function(self, object_type: GraphQLObjectType, nodes: Sequence[FieldNode]) -> str:
        function = self.name("object")
        if object_type.is_type_of is None:
            # graphql-core completes any value here that is not null, an Exception or awaitable (a generic
            # type's objects are instances of the generic class, not of the class Strawberry made for the type).
            check = "o is None or not (INERT.get(type(o)) or is_inert(type(o)))"
        else:
            object_class = plain_object_class(object_type)
            if object_class is None:
                raise _Uncompilable  # a hand-written is_type_of: it has to be asked
            check = f"type(o) is not {self.name('cls', object_class)} or getattr(o, CAST, None) is not None"
        fields = self.collect(object_type, nodes)
        body = [f"def {function}(o):", f"    if {check}: raise Bail"]
        results = []
        for index, (response_name, field_nodes) in enumerate(fields.items()):
            target = f"r{index}"
            results.append(f"{response_name!r}: {target}")
            field_name = field_nodes[0].name.value
            if field_name == "__typename":
                body.append(f"    {target} = {object_type.name!r}")
                continue
            field_def = object_type.fields.get(field_name)
            reader = plain_reader(field_def) if field_def is not None else None
            if reader is None or any(node.arguments for node in field_nodes):
                raise _Uncompilable
            read, attribute = reader
            if read is getattr and attribute.isidentifier() and not keyword.iskeyword(attribute):
                body.append(f"    v = o.{attribute}")
            else:
                body.append(f"    v = {self.name('read', read)}(o, {attribute!r})")
            body += self.value(field_def.type, field_nodes, "v", target, "    ")  # type: ignore[union-attr]
        body += ["    return {" + ", ".join(results) + "}", ""]
        self.lines += body
        return function

    def collect(self, object_type: GraphQLObjectType, nodes: Sequence[FieldNode]) -> dict[str, list[FieldNode]]:
        """The sub-fields of ``nodes`` grouped by response name, as graphql-core's ``collect_subfields`` groups them
        when no directive is involved (the same order, the same fragments, each named fragment once)."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for node in nodes:
            if node.selection_set is not None:
                self.visit(object_type, node.selection_set, grouped, visited)
        return grouped

    def visit(self, object_type: GraphQLObjectType, selection_set: SelectionSetNode,
              grouped: dict[str, list[FieldNode]], visited: set[str]) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise _Uncompilable  # @skip, @include, @defer or a custom one: may differ per request
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if does_fragment_condition_match(self.schema, selection, object_type):
                    self.visit(object_type, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                self.spread[name] = fragment.definition if fragment is not None else None
                if fragment is None or name in visited or not does_fragment_condition_match(
                        self.schema, fragment.definition, object_type):
                    continue
                if fragment.variable_signatures:
                    raise _Uncompilable
                visited.add(name)
                self.visit(object_type, fragment.definition.selection_set, grouped, visited)


def compile_selection(schema: GraphQLSchema, fragments: dict[str, FragmentDetails], return_type: GraphQLOutputType,
                      nodes: Sequence[FieldNode]) -> tuple[Compiled | None, SpreadFragments]:
    """A function completing values of ``return_type`` selected by ``nodes`` (None if they are not plain), and the
    fragments it spread."""
    compiler = _Compiler(schema, fragments)
    try:
        body = compiler.value(return_type, nodes, "value", "result", "    ")
    except _Uncompilable:
        return None, tuple(compiler.spread.items())
    # Only names reach the source: response names (GraphQL names, letters, digits and underscores only, and written
    # with repr), type names with repr, attributes checked to be Python identifiers, and names made here. Every
    # object the code uses comes in through the namespace.
    source = "\n".join([*compiler.lines, "def complete(value):", *body, "    return result", ""])
    namespace = dict(compiler.names)
    exec(compile(source, "<compiled selection>", "exec"), namespace)  # noqa: S102 - our own generated source
    complete: Compiled = namespace["complete"]
    return complete, tuple(compiler.spread.items())
