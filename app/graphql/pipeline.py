"""The request pipeline: security profile, document caches and error mapping, run by the schema itself.

Every GraphQL request goes through four stages Strawberry brackets with its extension runner: operation, parse,
validate, execute. A ``SchemaExtension`` would hook them, but Strawberry builds every extension anew for each
request, resolves each of its hooks by inspection and wraps each in a generator context manager inside an exit
stack, per stage and per request: about 0.18 M instructions on every request, 6 % of a mutation as small as
``logoutOtherSessions`` (callgrind). So the schema hands Strawberry this runner instead (``Schema``'s public
``create_extensions_runner``), whose stages are plain objects that do the same work in the same order:

1. operation: the profile's token limit and extra validation rules; afterwards, errors are mapped
   (``security.map_errors``);
2. parse: the cached parse (``performance.parse_cached``), under the token limit;
3. validate: the cost limits first (``security.refuse_costly``), then the cached validation
   (``performance.validate_cached``).

As with a generator hook, a stage's "after" part runs only when the stage succeeded: an exception raised inside it
propagates untouched, and Strawberry turns it into the operation's error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from app.graphql.performance import parse_cached, validate_cached
from app.faults import is_database_unavailable
from app.graphql.security import SecurityProfile, map_errors, refuse_costly
from app.services.errors import DomainError

log = logging.getLogger(__name__)


class _Stage:
    """A stage as the context manager Strawberry enters, sync or async: ``enter`` before it, ``leave`` after it
    when it succeeded."""

    __slots__ = ("enter", "leave")

    def __init__(self, enter: Callable[[], None] | None, leave: Callable[[], None] | None = None) -> None:
        self.enter = enter
        self.leave = leave

    def __enter__(self) -> None:
        if self.enter is not None:
            self.enter()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None and self.leave is not None:
            self.leave()

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, traceback)


_NOTHING = _Stage(None)  # stateless, so one instance serves every request


class RequestPipeline(SchemaExtensionsRunner):
    """One request's pipeline: made per request by the schema, so no request's execution context is seen by
    another."""

    def __init__(self, execution_context: ExecutionContext, profile: SecurityProfile) -> None:
        super().__init__(execution_context, [])
        self.profile = profile

    def operation(self) -> _Stage:  # type: ignore[override]
        return _Stage(self._start_operation, self._map_errors)

    def parsing(self) -> _Stage:  # type: ignore[override]
        return _Stage(self._parse)

    def validation(self) -> _Stage:  # type: ignore[override]
        return _Stage(self._validate)

    def executing(self) -> _Stage:  # type: ignore[override]
        return _NOTHING

    def _start_operation(self) -> None:
        ctx, profile = self.execution_context, self.profile
        if profile.max_tokens is not None:
            ctx.parse_options["max_tokens"] = profile.max_tokens
        if profile.extra_rules:
            ctx.validation_rules = ctx.validation_rules + profile.extra_rules

    def _map_errors(self) -> None:
        ctx = self.execution_context
        errors: list[GraphQLError] | None = getattr(ctx.result, "errors", None)
        if errors:
            ctx.result.errors = map_errors(  # type: ignore[union-attr]
                errors, mask_unexpected=self.profile.mask_unexpected, response=getattr(ctx.context, "response", None))

    def _parse(self) -> None:
        ctx = self.execution_context
        if ctx.query is not None:
            ctx.graphql_document = parse_cached(ctx.query, ctx.parse_options)

    def _validate(self) -> None:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            return
        schema = ctx.schema._schema
        try:
            if self.profile.check_cost:
                refuse_costly(schema, document)
            ctx.pre_execution_errors = validate_cached(schema, document, ctx.validation_rules)
        except GraphQLError:
            raise
        except Exception as error:  # noqa: BLE001 - a rule that breaks on some document is a bug, answered as one
            # Strawberry would answer an exception raised here with its raw text, outside the operation whose end
            # masks errors; as an error of the document it goes through the same masking (and logging,
            # ``PipelineSchema.process_errors``) as a resolver's.
            ctx.pre_execution_errors = [GraphQLError(str(error), original_error=error)]


class PipelineSchema(Schema):
    """A Strawberry schema whose requests run through ``RequestPipeline`` under a deployment's profile."""

    def __init__(self, *, profile: SecurityProfile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The runner replaces the extension machinery, so an extension given here would silently never run.
        if self.extensions or self.directives:
            raise TypeError("PipelineSchema runs no schema extensions or custom directives")
        self.profile = profile

    def create_extensions_runner(self, execution_context: ExecutionContext,
                                 extensions: list[SchemaExtension]) -> SchemaExtensionsRunner:
        return RequestPipeline(execution_context, self.profile)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log what went wrong on our side, never what the client sent. Strawberry logs every error with its
        message and the document: "Variable '$password' has invalid value: …" put a password in the logs, and
        no pattern can find every way a document spells one. A client's mistake (a syntax, validation or
        variable error) and a domain error are answered to the client and not logged; a database outage is
        logged where it becomes a 503 (``security.map_errors``)."""
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, (GraphQLError, DomainError)) \
                    or is_database_unavailable(original):
                continue
            log.error("a GraphQL request failed on our side",
                      exc_info=(type(original), original, original.__traceback__),
                      extra={"graphql_path": ".".join(str(part) for part in error.path or ())})
