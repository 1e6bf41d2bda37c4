"""Search outbox and text extraction results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("document_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_outbox_document_id"), ["document_id"], unique=False
        )
    op.create_table(
        "text_extractions",
        sa.Column("version_id", BigId, autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("extracted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"],
            name=op.f("fk_text_extractions_version_id_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_text_extractions")),
    )
    # Every document filed before this revision must reach the index.
    op.execute(
        "INSERT INTO search_outbox (document_id, created_at) "
        "SELECT id, CURRENT_TIMESTAMP FROM documents ORDER BY id"
    )


def downgrade() -> None:
    op.drop_table("text_extractions")
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_outbox_document_id"))
    op.drop_table("search_outbox")
