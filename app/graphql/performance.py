"""Schema extensions that make repeated documents cheap (parsing and validation caches).

Clients send the same few documents over and over (the settings page, login, revoke), so parsing and validating
each one once per process instead of once per request removes most of the fixed cost of a small query. Both caches
are bounded LRUs, so unique documents sent by an attacker cannot grow memory without limit.

They must come after the security extensions in the schema's list: the validation cache keys on the validation
rules in force, so rules added by ``AddValidationRules``-style extensions have to be in place when it runs.
"""

from __future__ import annotations

from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

from app.settings import Settings

# Distinct documents a deployment's own clients send are a few dozen; 256 leaves room without unbounded growth.
DOCUMENT_CACHE_SIZE = 256


class BoundedParserCache(ParserCache):
    """``ParserCache`` with our bound, as a class: Strawberry builds extensions per request from classes, while a
    shared instance would carry one request's execution context into another's."""

    def __init__(self) -> None:
        super().__init__(maxsize=DOCUMENT_CACHE_SIZE)


class BoundedValidationCache(ValidationCache):
    """``ValidationCache`` with our bound (the cache itself lives at module level and is shared)."""

    def __init__(self) -> None:
        super().__init__(maxsize=DOCUMENT_CACHE_SIZE)


def performance_extensions(settings: Settings) -> list[SchemaExtension | type[SchemaExtension]]:
    """The same in every profile: caching changes how fast an answer comes, never what it is."""
    return [BoundedParserCache, BoundedValidationCache]
