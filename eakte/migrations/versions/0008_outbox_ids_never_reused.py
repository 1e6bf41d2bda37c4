"""Search outbox ids are never reused (AUTOINCREMENT on SQLite).

An indexer deletes the outbox rows it has handled by id. Without AUTOINCREMENT, SQLite
gives a new row the id of the highest deleted one, so a concurrent indexer could delete
a row written after it read the outbox and that document would never be indexed.
PostgreSQL's sequence never reuses ids; nothing changes there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _recreate(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # batch mode copies the rows into a new table with the same ids
    with op.batch_alter_table("search_outbox", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)
