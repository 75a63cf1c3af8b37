"""Opaque global IDs for GraphQL nodes (the encoding lives in the services so OAuth routes share it)."""

from __future__ import annotations

import uuid

import strawberry

from app.services.global_ids import from_global_id, to_global_id

__all__ = ["from_global_id", "node_id", "to_global_id"]


def node_id(type_name: str, value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, value))
