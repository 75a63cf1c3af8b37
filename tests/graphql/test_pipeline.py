"""The schema runs its own request pipeline in place of Strawberry's extension runner, so it must refuse what that
runner would have run: an extension given to it would otherwise be silently skipped on every request."""

from __future__ import annotations

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from app.graphql.pipeline import PipelineSchema
from app.graphql.security import PRODUCTION


@strawberry.type
class _Query:
    ping: str = "pong"


class _Tracing(SchemaExtension):
    def on_operation(self):  # type: ignore[no-untyped-def]
        yield


def test_an_extension_given_to_the_schema_is_refused_not_skipped() -> None:
    with pytest.raises(TypeError, match="no schema extensions"):
        PipelineSchema(query=_Query, extensions=[_Tracing], profile=PRODUCTION)


async def test_the_pipeline_applies_the_profile_to_a_plain_schema() -> None:
    schema = PipelineSchema(query=_Query, profile=PRODUCTION)
    assert (await schema.execute("{ ping }", root_value=_Query())).data == {"ping": "pong"}
    # The production profile's extra rule: no introspection.
    refused = await schema.execute("{ __schema { types { name } } }", root_value=_Query())
    assert refused.data is None and refused.errors
