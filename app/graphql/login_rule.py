"""One ``login`` per GraphQL document (SECURITY.md K52): aliases made 150 sessions in 6 seconds."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)

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
