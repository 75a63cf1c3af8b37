"""GraphQL hardening by profile: what production refuses that development allows.

Production (OWASP GraphQL cheat sheet; the probes of graphql-cop): no introspection, no "Did you mean …?"
suggestions, and cost limits on depth, aliases, tokens, field selections and directives. The cost limits are
checked first, in a pass of their own, so an abusive document costs one cheap walk and gets one short answer
instead of a pile of validation errors. Unexpected exceptions are masked; domain errors and our own coded errors
stay readable. In every profile, a document may select ``login`` only once (``OneLoginPerDocumentRule``), and a
database failure inside a resolver becomes a 503 ``TEMPORARILY_UNAVAILABLE`` with ``Retry-After`` instead of a 200
that hides a lost write.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    Visitor,
    validate,
    visit,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from app.faults import GRAPHQL_CODE, UNAVAILABLE_MESSAGE, describe, is_database_unavailable, retry_after_headers
from app.graphql.performance import DocumentMemo
from app.services.errors import DomainError
from app.services.text import is_unrepresentable
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
MAX_FIELDS = 200
MAX_DIRECTIVES = 20
MAX_DIRECTIVES_PER_LOCATION = 3
MAX_VALIDATION_ERRORS = 10
UNEXPECTED_MESSAGE = "Unexpected error."
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class MaxDirectivesRule(ValidationRule):
    """Refuse documents that repeat directives (graphql-cop's "directive overloading": ``@aa@aa@aa…``)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.total = 0
        self.reported = False

    def enter(self, node: Any, *_args: Any) -> None:
        directives = getattr(node, "directives", None)
        if not directives or self.reported or isinstance(node, DirectiveNode):
            return
        self.total += len(directives)
        if len(directives) > MAX_DIRECTIVES_PER_LOCATION or self.total > MAX_DIRECTIVES:
            self.reported = True
            self.report_error(GraphQLError(
                f"Too many directives: at most {MAX_DIRECTIVES_PER_LOCATION} on one location and "
                f"{MAX_DIRECTIVES} in a document.", node))


class MaxFieldsRule(ValidationRule):
    """Refuse documents with more field selections than any real screen needs ("field duplication")."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        self.count += 1
        if self.count == MAX_FIELDS + 1:
            self.report_error(GraphQLError(f"Too many fields: at most {MAX_FIELDS} selections in a document.", node))


_COST_RULES: tuple[type[ASTValidationRule], ...] = (
    MaxDirectivesRule, MaxFieldsRule, max_aliases_rule(MAX_ALIASES), max_depth_rule(MAX_DEPTH, None))


@dataclass(frozen=True)
class SecurityProfile:
    """What a deployment profile refuses (production) or allows (development), applied per request by
    ``pipeline.RequestPipeline``."""

    max_tokens: int | None  # the parser stops after this many tokens, before any document gets expensive
    extra_rules: tuple[type[ASTValidationRule], ...]  # among the spec's rules, so the validation cache keys on them
    check_cost: bool  # the cost limits, in a pass of their own before validation
    mask_unexpected: bool  # unexpected exceptions become "Unexpected error."; suggestions are cut


UNREPRESENTABLE_TEXT = "Text must not contain NUL characters or unpaired surrogates."


class RepresentableTextRule(ValidationRule):
    """String literals of the document: the same refusal as ``endpoint`` gives such text in variables, before
    any resolver passes it on."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if is_unrepresentable(node.value):
            self.report_error(GraphQLError(UNREPRESENTABLE_TEXT, node, extensions={"code": "BAD_USER_INPUT"}))


TOO_MANY_LOGINS = "A document may sign in once: send each `login` as a request of its own."


class OneLoginPerDocumentRule(ValidationRule):
    """Refuse a document that selects the ``login`` mutation more than once, in every profile: aliased ``login``
    fields, inline fragments and fragment spreads on the mutation root all count, a spread as often as it is
    spread, and so do the logins of several mutation operations in one document. Each sign-in then takes a request
    of its own: aliases made 150 sessions in 6 seconds, each paying only its share of one request's overhead.

    It reads only the document, so it works as a plain graphql-core rule wherever rules are installed. Each
    fragment is walked once (counts are kept per fragment, and stop at two), so fragments that spread each other
    twice over cost a walk of the document, not of every path through it."""

    def enter_document(self, node: DocumentNode, *_args: Any) -> object:
        fragments = {definition.name.value: definition for definition in node.definitions
                     if isinstance(definition, FragmentDefinitionNode)}
        memo: dict[str, tuple[FieldNode, ...]] = {}
        found: list[FieldNode] = []
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.MUTATION:
                found.extend(_root_logins(definition.selection_set, fragments, memo, frozenset()))
        if len(found) > 1:
            self.report_error(GraphQLError(TOO_MANY_LOGINS, found[:2], extensions={"code": "BAD_USER_INPUT"}))
        return self.BREAK  # the whole document was read above


def _root_logins(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 memo: dict[str, tuple[FieldNode, ...]], visiting: frozenset[str]) -> tuple[FieldNode, ...]:
    """The ``login`` fields among the mutation root's selections (at most two: enough to refuse)."""
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if len(found) > 1:
            break
        if isinstance(selection, FieldNode):
            if selection.name.value == "login":
                found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(_root_logins(selection.selection_set, fragments, memo, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:  # unknown or cyclic: the spec's own rules refuse those
                continue
            if name not in memo:
                memo[name] = _root_logins(fragment.selection_set, fragments, memo, visiting | {name})
            found.extend(memo[name])
    return tuple(found[:2])


DEVELOPMENT = SecurityProfile(max_tokens=None, extra_rules=(RepresentableTextRule, OneLoginPerDocumentRule),
                              check_cost=False, mask_unexpected=False)
PRODUCTION = SecurityProfile(max_tokens=MAX_TOKENS,
                             extra_rules=(RepresentableTextRule, OneLoginPerDocumentRule,
                                          NoSchemaIntrospectionCustomRule),
                             check_cost=True, mask_unexpected=True)


def security_profile(settings: Settings) -> SecurityProfile:
    """Production refuses introspection and costly documents and masks the unexpected; development keeps GraphiQL
    and introspection."""
    return PRODUCTION if settings.is_production else DEVELOPMENT


def _known_spreads_only(document: DocumentNode) -> DocumentNode:
    """The document with each spread of a fragment it does not define replaced by ``__typename`` (itself when
    there is none). Strawberry's depth and alias rules look every spread up by name and raise KeyError on an
    unknown one; the limits are checked on the rest, and the spec's validation, which runs next, answers "Unknown
    fragment". A field, not nothing, takes the spread's place: an emptied selection broke the depth rule."""
    defined = {definition.name.value for definition in document.definitions
               if isinstance(definition, FragmentDefinitionNode)}
    dropper = _UnknownSpreadDropper(defined)
    edited: DocumentNode = visit(document, dropper)
    return edited if dropper.dropped else document


class _UnknownSpreadDropper(Visitor):
    def __init__(self, defined: set[str]) -> None:
        super().__init__()
        self.defined = defined
        self.dropped = False

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> object:
        if node.name.value in self.defined:
            return None
        self.dropped = True
        return FieldNode(name=NameNode(value="__typename"), alias=None, arguments=(), directives=(),
                         selection_set=None, loc=node.loc)

_cost_checks: DocumentMemo[list[GraphQLError]] = DocumentMemo()


def refuse_costly(schema: GraphQLSchema, document: DocumentNode) -> None:
    """Raise the first cost-limit error of a document over the limits. It is raised, which ends the operation with
    that one error: ten unknown ``@aa`` directives give one error, not ten, and the spec's rules never walk an
    abusive document. The walk runs once per document: the parser cache hands back the same document object for a
    repeated query, so the settings page pays one lookup instead of a walk per request (bounded like that cache)."""
    errors = _cost_checks.get(document, schema, lambda: validate(schema, _known_spreads_only(document), _COST_RULES,
                                                                 hide_suggestions=True))
    if errors:
        raise errors[0]


def _is_readable(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, (GraphQLError, DomainError))


def map_errors(errors: list[GraphQLError], *, mask_unexpected: bool, response: Any) -> list[GraphQLError]:
    """Map resolver failures: database trouble → 503 + Retry-After on ``response``; with ``mask_unexpected``, mask
    what is not ours to show and keep at most MAX_VALIDATION_ERRORS (a pathological document cannot make the
    answer itself large)."""
    mapped = [_map(error, mask_unexpected=mask_unexpected, response=response) for error in errors]
    return mapped[:MAX_VALIDATION_ERRORS] if mask_unexpected else mapped


def _map(error: GraphQLError, *, mask_unexpected: bool, response: Any) -> GraphQLError:
    original = error.original_error
    if original is not None and is_database_unavailable(original):
        log.warning("database unavailable during a GraphQL operation", extra=describe(original))
        if response is not None:
            response.status_code = 503
            response.headers.update(retry_after_headers())
        return GraphQLError(UNAVAILABLE_MESSAGE, error.nodes, path=error.path, extensions={"code": GRAPHQL_CODE})
    if not mask_unexpected:
        return error
    if not _is_readable(error):
        return GraphQLError(UNEXPECTED_MESSAGE, error.nodes, path=error.path,
                            extensions={"code": "INTERNAL_SERVER_ERROR"})
    if _SUGGESTION.search(error.message):
        return GraphQLError(_SUGGESTION.sub("", error.message), error.nodes, path=error.path,
                            extensions=error.extensions)
    return error
