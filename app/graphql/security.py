"""GraphQL hardening by profile: what production refuses that development allows."""

from __future__ import annotations

from strawberry.extensions import SchemaExtension

from app.settings import Settings


def security_extensions(settings: Settings) -> list[SchemaExtension | type[SchemaExtension]]:
    """Extensions and validation rules for this profile (development keeps GraphiQL and introspection)."""
    return []
