"""xdomea 3.0.0/3.1.0 Aussonderung: write 0501/0503, read 0502–0507, take over 0503 containers.

Example:
    >>> from eakte.exchange.xdomea import export_xdomea, import_xdomea  # doctest: +SKIP
    >>> with store.session() as s:  # doctest: +SKIP
    ...     result = export_xdomea(s, ["630.10-0001/2026"], message="0503", out_dir="out")
    ...     result.path.name  # '{ProzessID}_Aussonderung.Aussonderung.0503.zip'

lxml loads when a message is written, read or validated; ``import eakte`` does not load it.
"""

from __future__ import annotations

from eakte.exchange.xdomea._kopf import Party
from eakte.exchange.xdomea._receive import import_xdomea
from eakte.exchange.xdomea.build import ExportResult, export_xdomea
from eakte.exchange.xdomea.importer import FALLBACK_KENNZEICHEN, ImportResult
from eakte.exchange.xdomea.read import XdomeaLimits
from eakte.exchange.xdomea.receipt import write_receipt
from eakte.exchange.xdomea.schema import (
    SCHEMA_ENV,
    SCHEMA_SETTING,
    ValidationReport,
    validate_message,
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
