"""schema.graphql is what the code exports; regenerate it with scripts/export-schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_code() -> None:
    exported = subprocess.run([sys.executable, "-m", "app", "export-schema"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    committed = (ROOT / "schema.graphql").read_text()
    assert exported == committed, "schema.graphql is stale: run scripts/export-schema and commit it"


def test_every_type_and_field_has_a_description() -> None:
    from graphql import GraphQLObjectType

    from app.graphql.schema import build_schema
    from app.settings import Settings

    schema = build_schema(Settings())

    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        if not graphql_type.description:
            missing.append(name)
        missing += [f"{name}.{field}" for field, value in graphql_type.fields.items() if not value.description]
    assert missing == []


def test_every_argument_input_field_and_enum_value_has_a_description() -> None:
    """A developer reading the schema in GraphiQL's Docs panel finds every argument (`input` included), input
    field and enum value (`ClientKind`'s too) explained, not only the types and their output fields."""
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

    from app.graphql.schema import build_schema
    from app.settings import Settings

    schema = build_schema(Settings())
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(graphql_type, GraphQLObjectType):
            missing += [f"{name}.{field}({arg})" for field, value in graphql_type.fields.items()
                        for arg, argument in value.args.items() if not argument.description]
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing += [f"{name}.{field}" for field, value in graphql_type.fields.items() if not value.description]
        elif isinstance(graphql_type, GraphQLEnumType):
            missing += [f"{name}.{value_name}" for value_name, value in graphql_type.values.items()
                        if not value.description]
    assert missing == []
