"""Alembic environment: runs migrations over the sync driver of the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on the metadata)

config = context.config
MIGRATION_LOCK_KEY = 0x636F6E73656E7472  # "consentr": any constant no other user of the database picks
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or ""
    # psycopg prepares a statement it runs often under a fixed name that stays on the server connection; behind
    # PgBouncer in transaction mode that connection goes on to other clients, so migrations prepare nothing.
    engine = create_engine(url, **({"connect_args": {"prepare_threshold": None}}
                                   if url.startswith("postgresql+psycopg") else {}))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Instances that start together (each `serve` migrates first) take turns: the next one finds the schema
            # at head and does nothing, instead of failing on a table or column the first one just made. Released
            # with this transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table rebuilds
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
