"""Encryption at rest: Akte keys, data-key wrappings and encrypted blob rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "akte_keys",
        sa.Column("akte_id", _ID, autoincrement=False, nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["akte_id"], ["akten.id"],
                                name=op.f("fk_akte_keys_akte_id_akten")),
        sa.PrimaryKeyConstraint("akte_id", name=op.f("pk_akte_keys")),
    )
    op.create_index(op.f("ix_akte_keys_master_key_id"), "akte_keys", ["master_key_id"])
    op.create_table(
        "blob_keys",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("akte_id", _ID, autoincrement=False, nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["akte_id"], ["akte_keys.akte_id"],
                                name=op.f("fk_blob_keys_akte_id_akte_keys")),
        sa.PrimaryKeyConstraint("sha256", "akte_id", name=op.f("pk_blob_keys")),
    )
    op.create_index(op.f("ix_blob_keys_akte_id"), "blob_keys", ["akte_id"])
    op.create_table(
        "encrypted_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key_check", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_encrypted_blobs")),
    )


def downgrade() -> None:
    op.drop_table("encrypted_blobs")
    op.drop_index(op.f("ix_blob_keys_akte_id"), table_name="blob_keys")
    op.drop_table("blob_keys")
    op.drop_index(op.f("ix_akte_keys_master_key_id"), table_name="akte_keys")
    op.drop_table("akte_keys")
