"""Initial schema: Aktenplan, Akten, Vorgänge, documents, versions, renditions, audit log.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('aktenplan_units',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('kennzeichen', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('disposal', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['aktenplan_units.id'], name=op.f('fk_aktenplan_units_parent_id_aktenplan_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aktenplan_units')),
    sa.UniqueConstraint('kennzeichen', name=op.f('uq_aktenplan_units_kennzeichen')),
    sa.UniqueConstraint('uuid', name=op.f('uq_aktenplan_units_uuid'))
    )
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('canonical', sa.LargeBinary(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('external_refs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_refs')),
    sa.UniqueConstraint('system', 'external_id', 'object_type', name='uq_external_refs_key')
    )
    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_refs_object_id'), ['object_id'], unique=False)

    op.create_table('principals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=True),
    sa.Column('org_unit', sa.String(length=200), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_principals')),
    sa.UniqueConstraint('name', name=op.f('uq_principals_name'))
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('akten',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('aktenzeichen', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('org_unit', sa.String(length=200), nullable=True),
    sa.Column('confidentiality', sa.String(length=20), nullable=False),
    sa.Column('retention_override', sa.Boolean(), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['aktenplan_units.id'], name=op.f('fk_akten_unit_id_aktenplan_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_akten')),
    sa.UniqueConstraint('aktenzeichen', name=op.f('uq_akten_aktenzeichen')),
    sa.UniqueConstraint('uuid', name=op.f('uq_akten_uuid'))
    )
    with op.batch_alter_table('akten', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_akten_unit_id'), ['unit_id'], unique=False)

    op.create_table('aktenzeichen_counters',
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['aktenplan_units.id'], name=op.f('fk_aktenzeichen_counters_unit_id_aktenplan_units')),
    sa.PrimaryKeyConstraint('unit_id', 'year', name=op.f('pk_aktenzeichen_counters'))
    )
    op.create_table('vorgaenge',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('akte_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['akte_id'], ['akten.id'], name=op.f('fk_vorgaenge_akte_id_akten')),
    sa.ForeignKeyConstraint(['parent_id'], ['vorgaenge.id'], name=op.f('fk_vorgaenge_parent_id_vorgaenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vorgaenge')),
    sa.UniqueConstraint('uuid', name=op.f('uq_vorgaenge_uuid'))
    )
    with op.batch_alter_table('vorgaenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vorgaenge_akte_id'), ['akte_id'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('akte_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vorgang_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('parent_document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('version_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['akte_id'], ['akten.id'], name=op.f('fk_documents_akte_id_akten')),
    sa.ForeignKeyConstraint(['parent_document_id'], ['documents.id'], name=op.f('fk_documents_parent_document_id_documents')),
    sa.ForeignKeyConstraint(['vorgang_id'], ['vorgaenge.id'], name=op.f('fk_documents_vorgang_id_vorgaenge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('uuid', name=op.f('uq_documents_uuid'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_akte_id'), ['akte_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_vorgang_id'), ['vorgang_id'], unique=False)

    op.create_table('versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=1000), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_versions_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_versions')),
    sa.UniqueConstraint('document_id', 'number', name='uq_versions_number'),
    sa.UniqueConstraint('uuid', name=op.f('uq_versions_uuid'))
    )
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_versions_sha256'), ['sha256'], unique=False)

    op.create_table('renditions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], name=op.f('fk_renditions_version_id_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renditions')),
    sa.UniqueConstraint('version_id', 'kind', name='uq_renditions_kind')
    )
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renditions_sha256'), ['sha256'], unique=False)

    # The audit chain starts from a single head row; appends lock and advance it.
    op.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)").bindparams(h="0" * 64))
    _create_immutability_triggers()


IMMUTABLE = ("versions", "renditions", "audit_events")


def _create_immutability_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in IMMUTABLE:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER eakte_{table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'eakte: rows of {table} are immutable'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION eakte_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'eakte: rows of % are immutable', TG_TABLE_NAME; END $$"
        )
        for table in IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER eakte_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION eakte_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER eakte_{table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION eakte_refuse_change()"
            )


def _drop_immutability_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS eakte_{table}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS eakte_{table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS eakte_{table}_no_truncate ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS eakte_refuse_change()")


def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table('renditions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renditions_sha256'))

    op.drop_table('renditions')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_versions_sha256'))

    op.drop_table('versions')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_vorgang_id'))
        batch_op.drop_index(batch_op.f('ix_documents_akte_id'))

    op.drop_table('documents')
    with op.batch_alter_table('vorgaenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vorgaenge_akte_id'))

    op.drop_table('vorgaenge')
    op.drop_table('aktenzeichen_counters')
    with op.batch_alter_table('akten', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_akten_unit_id'))

    op.drop_table('akten')
    op.drop_table('settings')
    op.drop_table('principals')
    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_refs_object_id'))

    op.drop_table('external_refs')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    op.drop_table('aktenplan_units')
