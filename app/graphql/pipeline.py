"""The one Strawberry extension: security profile, document caches and error mapping, hooked in once per request.

Strawberry builds every extension anew for each request and wraps each of its hooks in a context manager per
request, so five small extensions (token limit, validation rules, cost limits, error policy, two caches) cost five
times that bookkeeping on every request, measurable on a mutation as small as ``logoutOtherSessions``. This one
extension does the same work in the same order:

1. operation: the profile's token limit and extra validation rules; afterwards, errors are mapped
   (``security.map_errors``);
2. parse: the cached parse (``performance.parse_cached``), under the token limit;
3. validate: the cost limits first (``security.refuse_costly``), then the cached validation
   (``performance.validate_cached``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.graphql.performance import parse_cached, validate_cached
from app.graphql.security import SecurityProfile, map_errors, refuse_costly, security_profile
from app.settings import Settings


class RequestPipeline(SchemaExtension):
    profile: ClassVar[SecurityProfile]

    def on_operation(self) -> Iterator[None]:
        ctx, profile = self.execution_context, self.profile
        if profile.max_tokens is not None:
            ctx.parse_options["max_tokens"] = profile.max_tokens
        if profile.extra_rules:
            ctx.validation_rules = ctx.validation_rules + profile.extra_rules
        yield
        errors: list[GraphQLError] | None = getattr(ctx.result, "errors", None)
        if errors:
            ctx.result.errors = map_errors(  # type: ignore[union-attr]
                errors, mask_unexpected=profile.mask_unexpected, response=getattr(ctx.context, "response", None))

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.query is not None:
            ctx.graphql_document = parse_cached(ctx.query, ctx.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            schema = ctx.schema._schema
            if self.profile.check_cost:
                refuse_costly(schema, document)
            ctx.pre_execution_errors = validate_cached(schema, document, ctx.validation_rules)
        yield


def pipeline_extensions(settings: Settings) -> list[type[SchemaExtension]]:
    """The extension for this deployment's profile, as a class: Strawberry makes one instance per request, so no
    request's execution context is ever seen by another."""

    class ProfiledPipeline(RequestPipeline):
        profile = security_profile(settings)

    return [ProfiledPipeline]
