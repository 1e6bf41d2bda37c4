"""Replay baseline: stores from before replayable events get one ``audit.replay_baseline``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Events written before this revision lack some of the data ``verify`` needs to replay the
rights and record state (ids of principals and grants, for instance). For such a store this
migration appends one hash-chained event recording the sequence number it starts after,
the complete rights state and Aktenplan, and the highest id of each record table (see
:mod:`eakte.audit.replay.baseline`). New stores, whose ``store.init`` event says that they
replay from event 1, and empty ones get nothing. The downgrade leaves the event: audit
events are never removed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from eakte.audit.log import GENESIS_HASH, canonical_bytes, chain_hash
from eakte.audit.replay.baseline import BASELINE_ACTION, needs_baseline, snapshot
from eakte.model.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ACTOR = "eakte-migration"

_events = sa.table(
    "audit_events",
    sa.column("seq", sa.BigInteger()), sa.column("time", UTCDateTime()),
    sa.column("actor", sa.String()), sa.column("action", sa.String()),
    sa.column("object_type", sa.String()), sa.column("object_id", sa.String()),
    sa.column("details", sa.JSON()), sa.column("akte_id", sa.BigInteger()),
    sa.column("canonical", sa.LargeBinary()), sa.column("hash", sa.String()),
)


def upgrade() -> None:
    conn = op.get_bind()
    if not needs_baseline(conn):
        return
    head = conn.execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).first()
    seq, prev = (int(head[0]), str(head[1])) if head is not None else (0, GENESIS_HASH)
    details = snapshot(conn, seq)
    now = datetime.now(UTC)
    seq += 1
    canonical = canonical_bytes(seq=seq, time=now, actor=_ACTOR, action=BASELINE_ACTION,
                                object_type="store", object_id="", details=details)
    digest = chain_hash(prev, canonical)
    conn.execute(_events.insert().values(
        seq=seq, time=now, actor=_ACTOR, action=BASELINE_ACTION, object_type="store",
        object_id="", details=details, akte_id=None, canonical=canonical, hash=digest))
    conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                 {"s": seq, "h": digest})


def downgrade() -> None:
    pass
