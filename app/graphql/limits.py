"""Cost limits on GraphQL documents (OWASP GraphQL cheat sheet; the probes of graphql-cop).

The limits are Strawberry's own (``QueryDepthLimiter``, ``MaxAliasesLimiter``) plus two rules of ours (directive
overloading, field duplication), checked by ``CostLimits`` right after parsing, in a pass of their own, before the
spec's validation. So an abusive document costs one cheap walk and gets one short refusal, instead of a pile of
validation errors from rules (overlapping fields, unknown directives) that are slow on exactly such documents.
The token limit is Strawberry's ``MaxTokensLimiter``, enforced by the parser itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
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
    NameNode,
    Node,
    ValidationContext,
    ValidationRule,
    Visitor,
    validate,
    visit,
)
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
MAX_FIELDS = 200
MAX_DIRECTIVES = 20
MAX_DIRECTIVES_PER_LOCATION = 3


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


def default_limiters() -> list[AddValidationRules]:
    """The cost limits every production request is held to, as Strawberry extensions."""
    return [QueryDepthLimiter(max_depth=MAX_DEPTH), MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            AddValidationRules([MaxDirectivesRule, MaxFieldsRule])]


# Verdicts of the cost check by query text: clients send the same few documents over and over, and walking the
# settings page's document twice (the spread check and the rules) was about a tenth of its request. Bounded, so an
# attacker's unique documents only push each other out. A refusal is kept as plain data and raised as a new error
# each time: raising one cached exception again would chain every request's traceback onto it.
_VERDICTS: OrderedDict[tuple[object, str, tuple[type[ASTValidationRule], ...]], _Refusal | None] = OrderedDict()
_VERDICTS_KEPT = 256


@dataclass(frozen=True)
class _Refusal:
    message: str
    nodes: tuple[Node, ...]


class CostLimits(SchemaExtension):
    """Run the rules of ``limiters`` on the parsed document before the spec's validation, and refuse the document
    with the first error they find (the operation then ends with that one error)."""

    def __init__(self, limiters: Sequence[AddValidationRules]) -> None:
        self.rules: tuple[type[ASTValidationRule], ...] = tuple(
            rule for limiter in limiters for rule in limiter.validation_rules)

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None:  # the parser refused the document; that error is the answer
            return
        key = (context.schema, context.query or "", self.rules)
        if key in _VERDICTS:
            _VERDICTS.move_to_end(key)
            verdict = _VERDICTS[key]
        else:
            errors = validate(context.schema._schema, _known_spreads_only(document), self.rules,
                              hide_suggestions=True)
            verdict = _VERDICTS[key] = _Refusal(errors[0].message, tuple(errors[0].nodes or ())) if errors else None
            if len(_VERDICTS) > _VERDICTS_KEPT:
                _VERDICTS.popitem(last=False)
        if verdict is not None:
            raise GraphQLError(verdict.message, list(verdict.nodes))


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
