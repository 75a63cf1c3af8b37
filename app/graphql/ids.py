"""Opaque global IDs of GraphQL nodes: urlsafe base64 of ``"Type:uuid"``, no padding.

The OAuth routes and pages use the same IDs where a URL names a node (``/oauth/consent?request=<ID>`` is the
GraphQL ID of an ``AuthorizationRequest``), so the encoding is here, where the graph defines it.
"""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry

AUTHORIZATION_REQUEST = "AuthorizationRequest"


def to_global_id(type_name: str, id: uuid.UUID) -> str:
    raw = f"{type_name}:{id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_global_id(value: str) -> tuple[str, uuid.UUID] | None:
    """(type name, UUID) inside a well-formed global ID; None for anything else."""
    if not value or len(value) > 200:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw_id = decoded.partition(":")
    if not sep or not type_name:
        return None
    try:
        return type_name, uuid.UUID(raw_id)
    except ValueError:
        return None


def from_global_id(value: str, expected_type: str) -> uuid.UUID | None:
    """The UUID inside ``value`` when it is a well-formed ID of ``expected_type``; None for anything else."""
    parsed = parse_global_id(value)
    return parsed[1] if parsed is not None and parsed[0] == expected_type else None


def node_id(type_name: str, value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, value))
