"""The tamper-evident audit log: canonical encoding, hash-chained append and verification."""

from __future__ import annotations

from eakte.audit.log import (
    GENESIS_HASH,
    PendingEvent,
    append_events,
    canonical_bytes,
    chain_hash,
)
from eakte.audit.verify import verify_chain

__all__ = [
    "GENESIS_HASH",
    "PendingEvent",
    "append_events",
    "canonical_bytes",
    "chain_hash",
    "verify_chain",
]
