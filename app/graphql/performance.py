"""Caches that make repeated documents cheap: parsing and validation, once per process instead of per request.

Clients send the same few documents over and over (the settings page, login, revoke), so this removes most of the
fixed cost of a small query. Both caches are bounded LRUs, so unique documents sent by an attacker cannot grow
memory without limit. The validation cache keys on the validation rules in force, so a profile's extra rules are
part of every key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, Generic, TypeVar

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.schema.schema import validate_document

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


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options))


def parse_cached(query: str, options: dict[str, Any]) -> DocumentNode:
    """The parsed document, the same object for a repeated query text (Python caches a string's hash, so the key is
    cheap). Errors are not cached: a bad document is parsed again, and refused again, every time."""
    return _parse(query, tuple(sorted(options.items())))


_validations: DocumentMemo[list[GraphQLError]] = DocumentMemo()


def validate_cached(schema: GraphQLSchema, document: DocumentNode,
                    rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
    """Strawberry's validation of a document under these rules, once per document: keyed by the document's identity
    instead of by its deep hash."""
    return _validations.get(document, (schema, rules), lambda: validate_document(schema, document, rules))
