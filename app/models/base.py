"""Column types and helpers shared by every table."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Table, TypeDecorator, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine.

    SQLite has no time zone type and hands back naive values; storing naive UTC and re-attaching UTC on the way out
    gives the same aware datetimes on SQLite and PostgreSQL, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def timestamp(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    kwargs: dict[str, Any] = {"sa_type": UTCDateTime, "nullable": nullable, "index": index}
    if default_now:
        kwargs["default_factory"] = utcnow
    elif nullable:
        kwargs["default"] = None
    return Field(**kwargs)


ModelT = TypeVar("ModelT")


def table_of(model: type[Any]) -> Table:
    """The Core table of a table model, for statements built with Core. SQLModel sets ``__table__`` on every table
    model but does not declare it, so the mapper is asked instead (the same object)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


def detached_from_row(model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    """An instance of ``model`` holding ``values`` (column name → value, read from its own table), built the way
    the ORM builds a loaded object (no ``__init__``, no validation) but in no session: reading it never needs IO,
    and a later rollback of the request's session cannot expire it. For hot paths that select with Core."""
    manager = manager_of_class(model)
    if not manager.mapper.configured:  # a process whose first ORM use is this one
        configure_mappers()
    instance: ModelT = manager.new_instance()
    instance.__dict__.update(values)
    return instance
