"""The SHA-256 a 0503 records for its own primary files, and the check of each file against it.

xdomea has no checksum element, but a message written by eakte (or by a system that took
eakte's records over and passed their history on) records each file's SHA-256 in the
history of its Dokument: the ``Bemerkung`` of a ``document.file`` or ``version.add`` entry
holds the version's ``sha256`` and ``version_uuid``, that of a ``rendition.add`` entry the
rendition's ``sha256``, ``kind`` and ``version`` number. Primary files are named
``{uuid}_{name}`` (the version's UUID, or ``uuid5(version uuid, kind)`` for a rendition),
which binds an entry to exactly one file of the same Dokument. Entries that name no file of
their Dokument (earlier systems' numbering, versions sent without a file) are ignored.

A file whose bytes contradict what its own message says about it was altered or swapped
after the message was written: the takeover refuses the whole message.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import BinaryIO

from eakte.audit.events import Action
from eakte.errors import ArchiveImportError
from eakte.exchange.xdomea.read import Schriftgutobjekt

__all__ = ["CheckedReader", "Claim", "claimed_checksums"]

_VERSION_ACTIONS = (Action.DOCUMENT_FILE, Action.VERSION_ADD)
_RENDITION_ACTION = Action.RENDITION_ADD
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Claim:
    """One statement of a file's SHA-256 in its message.

    Attributes:
        sha256: the SHA-256 the message records.
        source: where it says so (history entry, object and entry date).
    """

    sha256: str
    source: str


def _fields(note: str | None) -> dict[str, str]:
    """Return the fields of an eakte history note (a JSON object), else nothing."""
    if not note or not note.startswith("{"):
        return {}
    try:
        loaded = json.loads(note)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: str(v) for k, v in loaded.items()
            if k in ("sha256", "version_uuid", "kind", "version") and v is not None}


def _file_uuid(name: str) -> str | None:
    """Return the UUID a primary file is named by (``{uuid}_{name}``), if any."""
    head, sep, _ = name.partition("_")
    if not sep:
        return None
    try:
        return str(uuid.UUID(head))
    except ValueError:
        return None


def _of_object(obj: Schriftgutobjekt, out: dict[str, list[Claim]]) -> None:
    files: dict[str, str] = {}
    for version in obj.versions:
        for ref in version.formats:
            file_uuid = _file_uuid(ref.dateiname)
            if file_uuid is not None:
                files.setdefault(file_uuid, ref.dateiname)
    if not files:
        return
    versions: dict[str, str] = {}  # version number → UUID, as the entries so far say
    for entry in obj.history:
        action = entry.get("Aktion")
        if action not in (*_VERSION_ACTIONS, _RENDITION_ACTION):
            continue
        fields = _fields(entry.get("Bemerkung"))
        sha256 = fields.get("sha256", "").lower()
        if not _SHA256.fullmatch(sha256):
            continue
        target: str | None = None
        try:
            if action in _VERSION_ACTIONS and "version_uuid" in fields:
                target = str(uuid.UUID(fields["version_uuid"]))
                if "version" in fields:
                    versions[fields["version"]] = target
            elif action == _RENDITION_ACTION and fields.get("kind"):
                version_uuid = versions.get(fields.get("version", ""))
                if version_uuid is not None:
                    target = str(uuid.uuid5(uuid.UUID(version_uuid), fields["kind"]))
        except ValueError:
            continue
        name = files.get(target) if target else None
        if name is not None:
            when = f" ({entry['DatumUhrzeit']})" if entry.get("DatumUhrzeit") else ""
            out[name].append(Claim(sha256, f"history entry {action}{when} of {obj.element} "
                                           f"{obj.id}"))


def claimed_checksums(objects: list[Schriftgutobjekt]) -> dict[str, list[Claim]]:
    """Return the SHA-256 claims of a message's objects by primary file name."""
    out: dict[str, list[Claim]] = defaultdict(list)
    for top in objects:
        for obj in top.walk():
            if obj.typ == "Dokument":
                _of_object(obj, out)
    return dict(out)


class CheckedReader(io.RawIOBase):
    """Hash a primary file while it is read; at its end compare with the message's claims.

    The blob store writes to a temporary file and publishes it only after a clean end of
    stream, so a contradicted file never reaches the store.
    """

    def __init__(self, raw: BinaryIO, name: str, claims: list[Claim]) -> None:
        self._raw = raw
        self._name = name
        self._claims = claims
        self._digest = hashlib.sha256()
        self._checked = False

    def readable(self) -> bool:
        """Return True: this stream is for reading."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer``; at the end of the file check the claims.

        Raises:
            ArchiveImportError: the file's SHA-256 is not the one its message records.
        """
        data = self._raw.read(len(buffer))
        n = len(data)
        if n:
            buffer[:n] = data
            self._digest.update(data)
        elif not self._checked:
            self._checked = True
            actual = self._digest.hexdigest()
            for claim in self._claims:
                if claim.sha256 != actual:
                    raise ArchiveImportError(
                        f"primary file {self._name!r} contradicts its message: the "
                        f"{claim.source} records SHA-256 {claim.sha256}, the file has "
                        f"SHA-256 {actual}; it was altered or swapped after the message was "
                        "written. Nothing was imported; ask the sender for an intact message")
        return n
