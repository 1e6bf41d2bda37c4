"""Alembic environment: runs eakte's migrations on the connection handed in by the Store."""

from __future__ import annotations

from alembic import context

from eakte.model import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - eakte always hands in a connection
    raise RuntimeError("eakte migrations run through eakte.Store; no connection was given")



def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Leave tables eakte keeps outside the records schema (derived search data) alone."""
    return not (type_ == "table" and reflected and compare_to is None
                and name not in Base.metadata.tables)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
