"""eakte drop-folder adapter: files plus a sidecar JSON become a filed case, with a receipt.

Layout of the drop folder (created on first run)::

    inbox/      the Fachverfahren writes the files, then ``<name>.eakte.json`` last
    work/       items being filed (claimed from inbox/)
    done/       originals of filed items, one folder per item, with the receipt
    failed/     originals of refused items, with ``error.json``
    receipts/   ``<name>.receipt.json`` for every item, filed or failed
    feed/       ``<sequence>.json`` per change-feed event (only with ``--feed``)

A case is taken only when its sidecar parses, matches ``schemas/dropfolder-sidecar`` and
every file it names is present with the SHA-256 it states; so half-written files are never
filed, whatever order they arrive in. Files are read as
:func:`eakte.adapter.read_in_folder` reads them: hidden names (``.tmp`` sidecars being
written) are left alone, and a sidecar or file that is a symbolic link is never read; its
item is refused. Each item ends as its own result: a broken or hostile one (a sidecar
nested thousands of levels deep) goes to failed/ with its reason, and the run goes on with
the next.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from eakte.adapter import (
    AdapterParam,
    CaseRecord,
    ChangeEvent,
    DocumentRecord,
    EakteError,
    ExternalKey,
    FieldMapping,
    Filer,
    FilingResult,
    FolderFile,
    InvalidInput,
    RunReport,
    UnsafeContent,
    item_error,
    load_json,
    open_in_folder,
    read_in_folder,
    scan_folder,
    validate,
)
from eakte.adapter import FilingStatus as Status

__all__ = ["SIDECAR_SUFFIX", "DropFolderAdapter"]

__version__ = "0.1.0"

#: Sidecar files end in this; everything else in inbox/ is content.
SIDECAR_SUFFIX = ".eakte.json"
_FOLDERS = ("inbox", "work", "done", "failed", "receipts")
_KNOWN_CASE = {"object_id", "aktenzeichen", "vorgang", "fields", "documents"}
_KNOWN_DOC = {"file", "sha256", "document_id", "version", "title", "kind", "date", "comment",
              "metadata", "attachments"}
#: The largest sidecar read.
_MAX_SIDECAR = 16 * 1024 * 1024


def _sha256(folder: Path, name: str) -> str:
    """Hash ``folder/name``, opened without following a symbolic link."""
    digest = hashlib.sha256()
    with open_in_folder(folder, name) as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _read_sidecar(folder: Path, name: str) -> Any:
    """Read and parse a sidecar (no symbolic link, bounded size and nesting).

    Raises:
        UnsafeContent: a symbolic link, too large, or nested too deeply: refuse it.
        InvalidInput: unreadable or not (yet) complete JSON.
    """
    raw = read_in_folder(folder, name, limit=_MAX_SIDECAR)
    return load_json(raw, what=f"sidecar {name}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: object) -> None:
    """Write ``data`` to ``path`` atomically: temporary file, fsync, rename, fsync folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _free_name(folder: Path, name: str, suffix: str = "") -> Path:
    candidate = folder / f"{name}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{name}-{number}{suffix}"
        number += 1
    return candidate


def _files(documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for doc in documents:
        found.append(doc)
        found.extend(_files(doc.get("attachments") or []))
    return found


def _error_data(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": str(exc),
            "exit_code": getattr(exc, "exit_code", 1)}


class DropFolderAdapter:
    """Take cases from a drop folder: content files plus a sidecar ``<name>.eakte.json``.

    The Fachverfahren writes the content files into inbox/ and then the sidecar (best
    written as a temporary name and renamed). The sidecar names each file with its SHA-256;
    until all are present and match, the item waits (after --stale-after seconds it is
    moved to failed/). A ready item is claimed by moving it to work/, filed in one
    transaction, its receipt written to receipts/, and its originals moved to done/ (or
    failed/ with error.json). A crash at any point is repaired by the next run: items left
    in work/ are filed again, which finds them filed already and duplicates nothing.
    """

    name: ClassVar[str] = "dropfolder"
    api_version: ClassVar[int] = 1
    summary: ClassVar[str] = "File cases from a drop folder (files plus a sidecar JSON), " \
        "with receipts"
    params: ClassVar[Sequence[AdapterParam]] = (
        AdapterParam("folder", "The drop folder; inbox/, work/, done/, failed/ and receipts/ "
                     "are created inside.", type="path", required=True),
        AdapterParam("mapping", "JSON mapping of the sidecar's fields to Akte, Vorgang and "
                     "document metadata (needed unless every sidecar names an aktenzeichen).",
                     type="path"),
        AdapterParam("system", "The Fachverfahren's name in external keys (default: the "
                     "mapping's system, else 'dropfolder')."),
        AdapterParam("stale_after", "Seconds after which an incomplete item in inbox/ is "
                     "moved to failed/ (0: never).", type="float", default=3600.0),
        AdapterParam("feed", "Also write every change-feed event the user may see to feed/ "
                     "as <sequence>.json.", type="flag", default=False),
    )

    def __init__(
        self,
        folder: str | os.PathLike[str],
        mapping: str | os.PathLike[str] | FieldMapping | None = None,
        system: str | None = None,
        stale_after: float = 3600.0,
        feed: bool = False,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if folder is None or not str(folder):
            raise InvalidInput("the drop folder adapter needs a folder")
        self.folder = Path(folder)
        self.mapping = (mapping if isinstance(mapping, FieldMapping) or mapping is None
                        else FieldMapping.from_file(mapping))
        self.system = system or (self.mapping.system if self.mapping else None) or self.name
        if isinstance(stale_after, bool) or not isinstance(stale_after, int | float) \
                or stale_after < 0:
            raise InvalidInput(f"stale_after must be seconds >= 0, not {stale_after!r}")
        self.stale_after = float(stale_after)
        self.clock = clock
        #: the runner hands change-feed events to follow() only when this is true
        self.follows_feed = bool(feed)

    def _dir(self, name: str) -> Path:
        return self.folder / name

    # -- the run -------------------------------------------------------------------------

    def run_once(self, filer: Filer) -> RunReport:
        """Recover items left in work/, then claim and file every ready item of inbox/."""
        report = RunReport(self.name)
        for name in _FOLDERS:
            self._dir(name).mkdir(parents=True, exist_ok=True)
        for item in sorted(self._dir("work").iterdir()):
            if item.is_dir() and not item.is_symlink():
                report.notes.append(f"resuming {item.name} (left in work/ by an earlier run)")
                self._guarded(item, filer, report,
                              functools.partial(self._resume_and_process, item, filer, report))
        inbox = self._dir("inbox")
        scan = scan_folder(inbox, recursive=False)
        sidecars = [f.path for f in scan.files if f.name.endswith(SIDECAR_SUFFIX)]
        # a symbolic link named like a sidecar is an item too: refused without reading it
        sidecars += [inbox / s.relative for s in scan.skipped
                     if s.relative.endswith(SIDECAR_SUFFIX) and s.reason == "symlink"]
        for sidecar in sorted(sidecars):
            try:
                self._take(sidecar, filer, report)
            except Exception as exc:  # the item's failure, never the run's
                report.notes.append(f"{sidecar.name}: {item_error(exc, sidecar.name)}")
        return report

    def _take(self, sidecar: Path, filer: Filer, report: RunReport) -> None:
        """Claim and file one sidecar's item if it is ready (or refuse it if it never will be)."""
        data, problem, refuse = self._check(sidecar)
        if data is None and not refuse:
            report.notes.append(f"waiting for {sidecar.name}: {problem}")
            return
        claimed = self._claim(sidecar, data)
        if claimed is None:
            return  # another runner took it
        if data is None:
            error = problem if isinstance(problem, EakteError) else InvalidInput(
                f"{sidecar.name}: {problem}")
            self._refuse(claimed, error, filer, report)
        else:
            self._guarded(claimed, filer, report,
                          lambda: self._process(claimed, filer, report))

    def _guarded(self, item: Path, filer: Filer, report: RunReport,
                 work: Callable[[], None]) -> None:
        """Run ``work`` on a claimed item; whatever it raises sends the item to failed/."""
        try:
            work()
        except Exception as exc:  # the item's failure, never the run's
            if item.exists():
                self._refuse(item, item_error(exc, item.name), filer, report)
            else:
                report.notes.append(f"{item.name}: {item_error(exc, item.name)}")

    def _resume_and_process(self, item: Path, filer: Filer, report: RunReport) -> None:
        self._resume(item)
        self._process(item, filer, report)

    def _check(self, sidecar: Path
               ) -> tuple[dict[str, Any] | None, str | EakteError | None, bool]:
        """Return (data, None, False) if ready, or (None, why, refuse) if not.

        ``refuse`` is true when waiting cannot help: the item is stale, or its sidecar or
        a file is a symbolic link, too large, nested too deeply or breaks the schema.
        """
        if sidecar.is_symlink():
            return None, "the sidecar is a symbolic link; it was not read", True
        try:
            age = self.clock() - sidecar.stat().st_mtime
        except FileNotFoundError:
            return None, "it disappeared", False
        stale = self.stale_after > 0 and age > self.stale_after
        try:
            data = _read_sidecar(sidecar.parent, sidecar.name)
        except UnsafeContent as exc:
            return None, exc, True
        except InvalidInput as exc:
            return None, f"not (yet) readable JSON: {exc}", stale
        try:
            validate(data, "dropfolder-sidecar", what=f"sidecar {sidecar.name}")
        except InvalidInput as exc:
            return None, str(exc), True  # complete JSON that is wrong: refuse at once
        for doc in _files(data["documents"]):
            path = sidecar.parent / doc["file"]
            if path.is_symlink():
                return None, f"file {doc['file']!r} is a symbolic link; it was not read", True
            if not path.is_file():
                return None, f"file {doc['file']!r} is not there (yet)", stale
            try:
                digest = _sha256(sidecar.parent, doc["file"])
            except UnsafeContent as exc:
                return None, exc, True
            except InvalidInput as exc:
                return None, f"file {doc['file']!r}: {exc}", stale
            if digest != doc["sha256"]:
                return None, f"file {doc['file']!r} does not match its SHA-256 (yet)", stale
        return data, None, False

    def _claim(self, sidecar: Path, data: dict[str, Any] | None) -> Path | None:
        """Move the sidecar, then its files, into a new folder in work/."""
        stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
        item = _free_name(self._dir("work"), stem)
        item.mkdir()
        try:
            os.rename(sidecar, item / sidecar.name)
        except FileNotFoundError:
            item.rmdir()
            return None
        _fsync_dir(item.parent)
        _fsync_dir(sidecar.parent)
        self._resume(item, data)
        return item

    def _resume(self, item: Path, data: dict[str, Any] | None = None) -> None:
        """Move the files an item's sidecar names from inbox/ into the item (idempotent)."""
        found = self._sidecar(item)[1] if data is None else data
        if not isinstance(found, dict):
            return
        inbox = self._dir("inbox")
        moved = False
        for doc in _files(found.get("documents") or []):
            name = doc.get("file")
            if not isinstance(name, str) or "/" in name or "\\" in name:
                continue
            source = inbox / name
            if not (item / name).exists() and source.is_file() and not source.is_symlink():
                os.rename(source, item / name)
                moved = True
        if moved:
            _fsync_dir(item)
            _fsync_dir(inbox)

    def _sidecar(self, item: Path) -> tuple[Path | None, dict[str, Any] | EakteError | None]:
        """Return an item's sidecar and its data, or the error that reading it raised."""
        found = sorted(item.glob("*" + SIDECAR_SUFFIX))
        if not found:
            return None, None
        try:
            data = _read_sidecar(item, found[0].name)
        except InvalidInput as exc:
            return found[0], exc
        return found[0], data if isinstance(data, dict) else None

    # -- filing --------------------------------------------------------------------------

    def _document(self, item: Path, doc: dict[str, Any]) -> DocumentRecord:
        if _sha256(item, doc["file"]) != doc["sha256"]:
            raise InvalidInput(f"file {doc['file']!r} changed after it was taken: its "
                               "SHA-256 no longer matches the sidecar")
        extra = {k: v for k, v in doc.items() if k not in _KNOWN_DOC}
        metadata = dict(doc.get("metadata") or {})
        if extra:
            metadata["sidecar"] = extra
        try:
            day = date.fromisoformat(doc["date"]) if doc.get("date") else None
        except ValueError as exc:
            raise InvalidInput(f"file {doc['file']!r}: bad date {doc['date']!r}") from exc
        return DocumentRecord(
            document_id=doc.get("document_id") or doc["file"],
            content=FolderFile(item, doc["file"]),  # opened without following a link
            filename=doc["file"],
            title=doc.get("title"),
            kind=doc.get("kind"),
            version=doc.get("version"),
            document_date=day,
            metadata=metadata,
            comment=doc.get("comment"),
            attachments=[self._document(item, a) for a in doc.get("attachments") or []],
        )

    def _case(self, item: Path, sidecar: Path, data: dict[str, Any]) -> CaseRecord:
        validate(data, "dropfolder-sidecar", what=f"sidecar {sidecar.name}")
        extra = {k: v for k, v in data.items() if k not in _KNOWN_CASE}
        return CaseRecord(
            object_id=data["object_id"],
            fields=dict(data.get("fields") or {}),
            documents=[self._document(item, d) for d in data["documents"]],
            aktenzeichen=data.get("aktenzeichen"),
            vorgang=data.get("vorgang", True),
            metadata={"sidecar": extra} if extra else {},
        )

    def _process(self, item: Path, filer: Filer, report: RunReport) -> None:
        sidecar, data = self._sidecar(item)
        if sidecar is None or not isinstance(data, dict):
            why = f": {data}" if isinstance(data, EakteError) else ""
            self._refuse(item, InvalidInput(f"{item.name}: no readable sidecar{why}"), filer,
                         report)
            return
        try:
            case = self._case(item, sidecar, data)
        except EakteError as exc:
            self._refuse(item, exc, filer, report, object_id=data.get("object_id"))
            return
        result = filer.file_case(case)
        self._finish(item, result, report)

    def _refuse(self, item: Path, exc: EakteError, filer: Filer, report: RunReport, *,
                object_id: object = None) -> None:
        oid = object_id if isinstance(object_id, str) and object_id.strip() else item.name
        try:
            key = ExternalKey(filer.system, oid)
        except InvalidInput:
            key = ExternalKey(filer.system, item.name)
        self._finish(item, FilingResult(key=key, status=Status.FAILED, error=exc), report)

    def _finish(self, item: Path, result: FilingResult, report: RunReport) -> None:
        """Write the receipt, then move the item to done/ or failed/ (one rename)."""
        now = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        receipt = {"receipt": 1, "item": item.name, "time": now, **result.as_dict()}
        receipts = self._dir("receipts")
        target = receipts / f"{item.name}.receipt.json"
        if target.exists():
            with contextlib.suppress(OSError, json.JSONDecodeError):
                old = json.loads(target.read_text(encoding="utf-8"))
                if old.get("object_id") != receipt["object_id"]:
                    target = _free_name(receipts, item.name, ".receipt.json")
        _write_json(target, receipt)
        if result.ok:
            _write_json(item / "receipt.json", receipt)
            destination = _free_name(self._dir("done"), item.name)
        else:
            _write_json(item / "error.json",
                        _error_data(result.error) if result.error else {"type": "unknown"})
            destination = _free_name(self._dir("failed"), item.name)
        os.rename(item, destination)
        _fsync_dir(destination.parent)
        _fsync_dir(item.parent)
        report.results.append(result)

    # -- change feed ---------------------------------------------------------------------

    def follow(self, events: Sequence[ChangeEvent], filer: Filer) -> None:
        """Write each event to feed/<sequence>.json (idempotent: same name on redelivery)."""
        del filer
        folder = self._dir("feed")
        folder.mkdir(parents=True, exist_ok=True)
        for event in events:
            _write_json(folder / f"{event.sequence:012d}.json", event.as_dict())
