"""What a GraphQL answer may say when something went wrong, and what is logged.

- A database outage inside a resolver becomes a 503 ``TEMPORARILY_UNAVAILABLE`` with ``Retry-After``, in every
  profile, instead of a 200 that hides a lost write.
- Production masks unexpected exceptions (Strawberry's ``MaskErrors``, keeping an error code), cuts "Did you mean
  …?" suggestions and keeps at most ``MAX_ERRORS`` errors, so a pathological document cannot make the answer large.
- Domain errors and our own coded errors stay readable.
- Only failures on our side are logged (``ConsentrySchema.process_errors``), never what the client sent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types import ExecutionContext

from app.http.faults import GRAPHQL_CODE, UNAVAILABLE_MESSAGE, describe, is_database_unavailable, retry_after_headers
from app.services.errors import DomainError

log = logging.getLogger(__name__)

MAX_ERRORS = 10
UNEXPECTED_MESSAGE = "Unexpected error."
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def is_readable(error: GraphQLError) -> bool:
    """Whether an error's text is ours to show: a GraphQL error of the document, or a domain error."""
    original = error.original_error
    return original is None or isinstance(original, (GraphQLError, DomainError))


class MaskUnexpected(MaskErrors):
    """Strawberry's ``MaskErrors`` for everything that is not readable, with a machine-readable code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_readable(error), error_message=UNEXPECTED_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


class DatabaseOutages(SchemaExtension):
    """A resolver's database failure → the 503 answer; with ``trim``, no suggestions and at most MAX_ERRORS.

    List it after ``MaskUnexpected``: Strawberry leaves operations in reverse order, so this runs first and the
    outage is not masked as an unexpected error."""

    def __init__(self, *, trim: bool) -> None:
        self.trim = trim

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        if result is None or not errors:
            return
        response = getattr(self.execution_context.context, "response", None)
        mapped = [self._map(error, response) for error in errors]
        result.errors = mapped[:MAX_ERRORS] if self.trim else mapped

    def _map(self, error: GraphQLError, response: Any) -> GraphQLError:
        original = error.original_error
        if original is not None and is_database_unavailable(original):
            log.warning("database unavailable during a GraphQL operation", extra=describe(original))
            if response is not None:
                response.status_code = 503
                response.headers.update(retry_after_headers())
            return GraphQLError(UNAVAILABLE_MESSAGE, error.nodes, path=error.path, extensions={"code": GRAPHQL_CODE})
        if self.trim and _SUGGESTION.search(error.message):
            return GraphQLError(_SUGGESTION.sub("", error.message), error.nodes, path=error.path,
                                extensions=error.extensions)
        return error


class ReleaseContext(SchemaExtension):
    """Release the request's context (``Context.release``) when the operation ends. List it first: operations are
    left in reverse order, so every other extension is done with the context by then."""

    def on_operation(self) -> Iterator[None]:
        yield
        release = getattr(self.execution_context.context, "release", None)
        if release is not None:
            release()


class ConsentrySchema(strawberry.Schema):
    """Strawberry's schema with our error logging (``process_errors`` is its documented place for that)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log what went wrong on our side, never what the client sent. Strawberry logs every error with its
        message and the document: "Variable '$password' has invalid value: …" put a password in the logs, and
        no pattern can find every way a document spells one. A client's mistake (a syntax, validation or
        variable error) and a domain error are answered to the client and not logged; a database outage is
        logged where it becomes a 503 (``DatabaseOutages``)."""
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, (GraphQLError, DomainError)) \
                    or is_database_unavailable(original):
                continue
            log.error("a GraphQL request failed on our side",
                      exc_info=(type(original), original, original.__traceback__),
                      extra={"graphql_path": ".".join(str(part) for part in error.path or ())})
