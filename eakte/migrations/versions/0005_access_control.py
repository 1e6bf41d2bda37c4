"""Access control (clearance, memberships, grants), the audit events' Akte and feed cursors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _akte_of(object_type: str, object_id: str, details: Any,
             document_akte: dict[str, int]) -> int | None:
    if isinstance(details, str):
        details = json.loads(details)
    if object_type == "akte" and object_id.isdigit():
        return int(object_id)
    akte = details.get("akte") if isinstance(details, dict) else None
    if isinstance(akte, int) and not isinstance(akte, bool):
        return akte
    if object_type == "document":
        return document_akte.get(object_id)
    return None


def _set_audit_trigger(enabled: bool) -> None:
    """Drop or recreate the trigger refusing updates of audit events (for the backfill)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        if enabled:
            op.execute(
                "CREATE TRIGGER eakte_audit_events_no_update BEFORE UPDATE ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'eakte: rows of audit_events are immutable'); END"
            )
        else:
            op.execute("DROP TRIGGER IF EXISTS eakte_audit_events_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_events "
                   f"{'ENABLE' if enabled else 'DISABLE'} TRIGGER eakte_audit_events_immutable")


def upgrade() -> None:
    with op.batch_alter_table("principals") as batch_op:
        batch_op.add_column(sa.Column("clearance", sa.String(length=20),
                                      server_default="offen", nullable=False))
    op.execute("UPDATE principals SET clearance = 'vs-nfd' WHERE is_admin")
    op.create_table(
        "memberships",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["principals.id"],
                                name=op.f("fk_memberships_group_id_principals")),
        sa.ForeignKeyConstraint(["member_id"], ["principals.id"],
                                name=op.f("fk_memberships_member_id_principals")),
        sa.PrimaryKeyConstraint("member_id", "group_id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_group_id"), "memberships", ["group_id"])
    op.create_table(
        "grants",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("principal_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"],
                                name=op.f("fk_grants_principal_id_principals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("principal_id", "role", "target_type", "target_id",
                            name="uq_grants_key"),
    )
    op.create_index(op.f("ix_grants_principal_id"), "grants", ["principal_id"])
    op.create_table(
        "adapter_cursors",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_adapter_cursors")),
    )

    op.add_column("audit_events", sa.Column("akte_id", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    document_akte = {str(row[0]): int(row[1])
                     for row in bind.execute(sa.text("SELECT id, akte_id FROM documents"))}
    updates = []
    for seq, object_type, object_id, details in bind.execute(sa.text(
            "SELECT seq, object_type, object_id, details FROM audit_events ORDER BY seq")):
        akte = _akte_of(object_type, object_id, details, document_akte)
        if akte is not None:
            updates.append({"seq": seq, "akte": akte})
    if updates:
        _set_audit_trigger(False)
        bind.execute(sa.text("UPDATE audit_events SET akte_id = :akte WHERE seq = :seq"),
                     updates)
        _set_audit_trigger(True)
    op.create_index(op.f("ix_audit_events_akte_id"), "audit_events", ["akte_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_akte_id"), table_name="audit_events")
    # not in batch mode: on SQLite that would copy the table and lose its triggers
    op.execute("ALTER TABLE audit_events DROP COLUMN akte_id")
    op.drop_table("adapter_cursors")
    op.drop_index(op.f("ix_grants_principal_id"), table_name="grants")
    op.drop_table("grants")
    op.drop_index(op.f("ix_memberships_group_id"), table_name="memberships")
    op.drop_table("memberships")
    with op.batch_alter_table("principals") as batch_op:
        batch_op.drop_column("clearance")
