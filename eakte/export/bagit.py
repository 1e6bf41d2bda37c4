"""BagIt export, re-exported: the code lives in :mod:`eakte.exchange.bagit`."""

from __future__ import annotations

from eakte.exchange.bagit import AUDIT_OMITTED_LABEL, METADATA_FORMAT, export_bagit, safe_name

__all__ = ["AUDIT_OMITTED_LABEL", "METADATA_FORMAT", "export_bagit", "safe_name"]
