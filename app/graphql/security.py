"""GraphQL hardening by profile: what production refuses that development allows, as Strawberry extensions.

Production (OWASP GraphQL cheat sheet; the probes of graphql-cop): no introspection, no "Did you mean …?"
suggestions, the token limit and the cost limits (``app.graphql.limits``), and unexpected exceptions masked
(``app.graphql.error_policy``). Every profile refuses text no database can store, and a database failure inside a
resolver becomes a 503 ``TEMPORARILY_UNAVAILABLE`` with ``Retry-After``, and a document may select ``login`` only
once (``app.graphql.login_rule``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from app.graphql.error_policy import DatabaseOutages, MaskUnexpected, ReleaseContext
from app.graphql.limits import MAX_TOKENS, CostLimits, default_limiters
from app.graphql.login_rule import OneLoginPerDocumentRule
from app.services.text import is_unrepresentable
from app.settings import Settings

# Distinct documents a deployment's own clients send are a few dozen; 256 leaves room without unbounded growth
# (an attacker's unique documents only push each other out).
DOCUMENT_CACHE_SIZE = 256
UNREPRESENTABLE_TEXT = "Text must not contain NUL characters or unpaired surrogates."


class RepresentableTextRule(ValidationRule):
    """String literals of the document: the same refusal as ``endpoint`` gives such text in variables, before
    any resolver passes it on."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if is_unrepresentable(node.value):
            self.report_error(GraphQLError(UNREPRESENTABLE_TEXT, node, extensions={"code": "BAD_USER_INPUT"}))


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The extensions of this deployment's profile, as factories (Strawberry builds them anew per request).

    Order matters where operations nest: the caches and limits wrap parsing and validation in list order, and
    ``DatabaseOutages`` comes after ``MaskUnexpected`` so that it sees an outage before the mask would."""
    production = settings.is_production
    rules: list[type[ASTValidationRule]] = [RepresentableTextRule, OneLoginPerDocumentRule]
    extensions: list[Callable[[], SchemaExtension]] = [ReleaseContext]
    if production:
        extensions += [functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS), DisableIntrospection,
                       MaskUnexpected]
    extensions += [
        functools.partial(DatabaseOutages, trim=production),
        functools.partial(AddValidationRules, rules),
        functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if production:
        extensions.append(functools.partial(CostLimits, default_limiters()))
    extensions.append(functools.partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE))
    return extensions
