"""Schema extensions that make repeated documents cheap (parsing and validation caches).

Clients send the same few documents over and over (the settings page, login, revoke), so parsing and validating
each one once per process instead of once per request removes most of the fixed cost of a small query. Both caches
are bounded LRUs, so unique documents sent by an attacker cannot grow memory without limit.

They must come after the security extensions in the schema's list: the validation cache keys on the validation
rules in force, so rules added by ``AddValidationRules``-style extensions have to be in place when it runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from graphql import DocumentNode
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document

from app.settings import Settings

# Distinct documents a deployment's own clients send are a few dozen; 256 leaves room without unbounded growth.
DOCUMENT_CACHE_SIZE = 256
T = TypeVar("T")


class DocumentMemo(Generic[T]):
    """A bounded LRU of results per parsed document, keyed by the document's identity.

    The parser cache hands back the same ``DocumentNode`` object for a repeated query, so identity is the right
    key, and a cheap one: graphql-core's AST nodes are frozen dataclasses, and hashing one hashes every node below
    it, which on the settings page cost more than the rest of validation. Each entry holds its document, so an id
    can never be reused by another document while the entry exists.
    """

    def __init__(self, maxsize: int = DOCUMENT_CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[DocumentNode, T]] = OrderedDict()

    def get(self, document: DocumentNode, key: Hashable, compute: Callable[[], T]) -> T:
        entry_key = (id(document), key)
        entry = self._entries.get(entry_key)
        if entry is not None and entry[0] is document:
            self._entries.move_to_end(entry_key)
            return entry[1]
        value = compute()
        self._entries[entry_key] = (document, value)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value


class BoundedParserCache(ParserCache):
    """``ParserCache`` with our bound, as a class: Strawberry builds extensions per request from classes, while a
    shared instance would carry one request's execution context into another's. (It keys on the query text, whose
    hash Python caches.)"""

    def __init__(self) -> None:
        super().__init__(maxsize=DOCUMENT_CACHE_SIZE)


_validations: DocumentMemo[list] = DocumentMemo()  # type: ignore[type-arg]


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ``ValidationCache``, keyed by document identity instead of by the document's deep hash."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            schema, rules = ctx.schema._schema, ctx.validation_rules
            ctx.pre_execution_errors = _validations.get(
                document, (schema, rules), lambda: validate_document(schema, document, rules))
        yield


def performance_extensions(settings: Settings) -> list[SchemaExtension | type[SchemaExtension]]:
    """The same in every profile: caching changes how fast an answer comes, never what it is."""
    return [BoundedParserCache, DocumentValidationCache]
