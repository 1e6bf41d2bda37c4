"""xdomea Aussonderung, re-exported: the code lives in :mod:`eakte.exchange.xdomea`.

lxml loads when a message is written, read or validated; ``import eakte`` does not load it.
"""

from __future__ import annotations

from eakte.exchange.xdomea import (
    FALLBACK_KENNZEICHEN,
    SCHEMA_ENV,
    SCHEMA_SETTING,
    ExportResult,
    ImportResult,
    Party,
    ValidationReport,
    XdomeaLimits,
    export_xdomea,
    import_xdomea,
    validate_message,
    write_receipt,
)

__all__ = [
    "FALLBACK_KENNZEICHEN",
    "SCHEMA_ENV",
    "SCHEMA_SETTING",
    "ExportResult",
    "ImportResult",
    "Party",
    "ValidationReport",
    "XdomeaLimits",
    "export_xdomea",
    "import_xdomea",
    "validate_message",
    "write_receipt",
]
