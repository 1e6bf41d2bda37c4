"""Lifecycle: legal holds and the per-Akte Aussonderung (disposal) state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("akte_id", BigId, nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["akte_id"], ["akten.id"], name=op.f("fk_legal_holds_akte_id_akten")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_akte_id"), ["akte_id"], unique=False)
    op.create_table(
        "akte_disposal",
        sa.Column("akte_id", BigId, autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=1), nullable=True),
        sa.Column("decision_source", sa.String(length=20), nullable=True),
        sa.Column("offer_message_id", sa.String(length=200), nullable=True),
        sa.Column("appraisal_message_id", sa.String(length=200), nullable=True),
        sa.Column("export_message_id", sa.String(length=200), nullable=True),
        sa.Column("transfer_message_id", sa.String(length=200), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appraised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archivkennung", sa.String(length=500), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["akte_id"], ["akten.id"], name=op.f("fk_akte_disposal_akte_id_akten")
        ),
        sa.PrimaryKeyConstraint("akte_id", name=op.f("pk_akte_disposal")),
    )
    with op.batch_alter_table("akte_disposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_akte_disposal_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("akte_disposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_akte_disposal_state"))
    op.drop_table("akte_disposal")
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_holds_akte_id"))
    op.drop_table("legal_holds")
