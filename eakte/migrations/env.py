"""Alembic environment: runs eakte's migrations on the connection handed in by the Store."""

from __future__ import annotations

from alembic import context

from eakte.model import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - eakte always hands in a connection
    raise RuntimeError("eakte migrations run through eakte.Store; no connection was given")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
