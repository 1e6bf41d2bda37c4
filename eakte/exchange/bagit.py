"""BagIt (RFC 8493) export of Akten: every version and rendition, metadata and audit excerpt.

Example:
    >>> from eakte.exchange.bagit import export_bagit  # doctest: +SKIP
    >>> with store.session() as s:  # doctest: +SKIP
    ...     bag = export_bagit(s, ["630.10-0001/2026"], "out/bag-0001")

The bag is written by eakte itself (no ``os.chdir``, no third-party writer): content is
streamed blob by blob and hashed (SHA-256 and SHA-512) while it is copied, so memory stays
flat however large the Akten are. Layout::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sha512.txt
    tagmanifest-sha256.txt  tagmanifest-sha512.txt
    data/metadata.json                              Akten, Vorgänge, documents, versions,
                                                    audit events (seq, hash, prev_hash)
                                                    if the exporter may read them
    data/<Aktenzeichen>/<document id>_<title>/v<N>/<file name>           the original
    data/<Aktenzeichen>/<document id>_<title>/v<N>/<rendition kind>/<file name>

The audit excerpt of an Akte goes into the bag only if the exporting principal may read
that Akte's audit log (the auditor role, or administrator); otherwise the Akte's
``audit_events`` is ``null`` with an ``audit_excerpt_omitted`` reason, and ``bag-info.txt``
names the Akte in an ``Audit-Excerpt-Omitted`` line, so a reader's export never carries
other users' events.

Names are made safe (no path separators, control or reserved characters, ``%``, bounded
length, NFC); the exact original names are in ``metadata.json``. The bag is assembled in a
temporary folder next to the target and renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import func, select

from eakte._version import __version__
from eakte.access import Permission
from eakte.audit.events import Action
from eakte.audit.log import GENESIS_HASH, format_time
from eakte.errors import ExportError, IntegrityError, InvalidInput, StateConflict
from eakte.model import Akte, AuditEvent, Document, Rendition, Version
from eakte.storage.verifying import VerifyingReader

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as OrmSession

    from eakte._unit_of_work import UnitOfWork
    from eakte.session import Session

__all__ = ["AUDIT_OMITTED_LABEL", "METADATA_FORMAT", "export_bagit", "safe_name"]

#: ``format`` value of ``data/metadata.json``.
METADATA_FORMAT = "eakte-bagit-metadata/1"
#: The ``bag-info.txt`` label naming each Akte whose audit excerpt is not in the bag.
AUDIT_OMITTED_LABEL = "Audit-Excerpt-Omitted"
_OMITTED_REASON = ("the exporting principal may not read the audit log of this Akte "
                   "(it needs the auditor role on it)")
Progress = Callable[[int, int], None]

_CHUNK = 1024 * 1024
_IN_CHUNK = 500
_UNSAFE = re.compile(r'[/\\:*?"<>|%]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
_EXT = re.compile(r"\.[A-Za-z0-9]{1,10}$")


def safe_name(name: str, *, fallback: str = "unnamed", max_bytes: int = 120) -> str:
    """Return ``name`` as a portable, harmless file name component.

    Path separators, ``%``, characters Windows forbids, control and format characters
    become ``_``; leading and trailing dots and spaces go (no ``..``); the text is NFC and
    at most ``max_bytes`` UTF-8 bytes long (keeping a short extension); device names such
    as ``CON`` get a leading ``_``. Umlauts and other letters stay.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                   for ch in text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if not text:
        text = fallback
    match = _EXT.search(text)
    ext = match.group(0) if match and match.start() > 0 else ""
    stem = text[: len(text) - len(ext)]
    while stem and len((stem + ext).encode("utf-8")) > max_bytes:
        stem = stem[:-1]
    stem = stem.rstrip(" .") or fallback
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    return stem + ext


def _unique(taken: set[str], name: str) -> str:
    """Return ``name``, or ``name`` with ``_2``, ``_3``… before its extension, unused so far.

    Names are compared case-insensitively so the bag unpacks on any file system.
    """
    match = _EXT.search(name)
    ext = match.group(0) if match and match.start() > 0 else ""
    stem = name[: len(name) - len(ext)]
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}_{n}{ext}"
    taken.add(candidate.casefold())
    return candidate


def _label(value: str) -> str:
    """Return a bag-info value on one line."""
    return re.sub(r"[\r\n]+", " ", value).strip()


@dataclass
class _Bag:
    """The bag being written: its root and what the manifests and Payload-Oxum need."""

    root: Path
    manifest256: IO[str]
    manifest512: IO[str]
    progress: Progress | None
    total: int
    files: int = 0
    octets: int = 0
    done: int = 0
    dirs: set[Path] = field(default_factory=set)

    def record(self, rel: str, sha256: str, sha512: str, size: int) -> None:
        if any(ch in rel for ch in "\r\n%"):  # safe_name prevents these; never write them raw
            raise ExportError(f"unsafe path in bag: {rel!r}")
        self.manifest256.write(f"{sha256}  {rel}\n")
        self.manifest512.write(f"{sha512}  {rel}\n")
        self.files += 1
        self.octets += size

    def mkdir(self, rel: str) -> None:
        path = self.root / rel
        path.mkdir(parents=True, exist_ok=True)
        self.dirs.add(path)


def _copy_blob(uow: UnitOfWork, bag: _Bag, sha: str, size: int, rel: str) -> None:
    """Stream one blob into the bag, hashing while copying; refuse damaged content."""
    digest256, digest512 = hashlib.sha256(), hashlib.sha512()
    written = 0
    reader = VerifyingReader(uow.store.blobs.open(sha), sha, size)
    with reader, (bag.root / rel).open("xb") as out:
        while chunk := reader.read(_CHUNK):
            digest256.update(chunk)
            digest512.update(chunk)
            out.write(chunk)
            written += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest256.hexdigest() != sha or written != size:  # VerifyingReader checks too
        raise IntegrityError(f"blob {sha} changed while it was exported")
    bag.record(rel, sha, digest512.hexdigest(), written)
    bag.done += 1
    if bag.progress is not None:
        bag.progress(bag.done, bag.total)


def _hash_file(path: Path) -> tuple[str, str, int]:
    digest256, digest512 = hashlib.sha256(), hashlib.sha512()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest256.update(chunk)
            digest512.update(chunk)
            size += len(chunk)
    return digest256.hexdigest(), digest512.hexdigest(), size


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start:start + _IN_CHUNK]


def _audit_excerpt(orm: OrmSession, akte: Akte, vorgang_ids: list[int],
                   document_ids: list[int]) -> list[dict[str, Any]]:
    """Return the audit events about the Akte, its Vorgänge and documents, by sequence.

    Each carries its canonical bytes (as text), its hash and the previous event's hash, so
    that ``hash == SHA-256(prev_hash ‖ canonical)`` can be checked event by event.
    """
    wanted = [("akte", [akte.id]), ("vorgang", vorgang_ids), ("document", document_ids)]
    events: dict[int, AuditEvent] = {}
    for object_type, ids in wanted:
        for chunk in _chunks(ids):
            rows = orm.scalars(select(AuditEvent).where(
                AuditEvent.object_type == object_type,
                AuditEvent.object_id.in_([str(i) for i in chunk])))
            events.update((e.seq, e) for e in rows)
    seqs = sorted(events)
    previous: dict[int, str] = {}
    before = [s - 1 for s in seqs if s > 1]
    for chunk in _chunks(before):
        for prev_seq, prev_hash in orm.execute(
                select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(chunk))):
            previous[int(prev_seq)] = str(prev_hash)
    return [
        {
            "seq": seq,
            "time": format_time(events[seq].time),
            "actor": events[seq].actor,
            "action": events[seq].action,
            "object_type": events[seq].object_type,
            "object_id": events[seq].object_id,
            "details": events[seq].details,
            "canonical": events[seq].canonical.decode("utf-8"),
            "prev_hash": previous.get(seq - 1, GENESIS_HASH if seq == 1 else None),
            "hash": events[seq].hash,
        }
        for seq in seqs
    ]


def _write_akte(session: Session, bag: _Bag, akte: Akte, top: set[str]) -> dict[str, Any]:
    """Write the Akte's files into the bag; return its metadata entry."""
    uow = session.unit_of_work
    akte_dir = "data/" + _unique(top, safe_name(akte.aktenzeichen, fallback=f"akte-{akte.id}"))
    bag.mkdir(akte_dir)
    vorgaenge = session.vorgaenge(akte)
    documents = session.documents(akte)
    doc_names: set[str] = set()
    doc_entries = []
    for doc in documents:
        doc_dir = f"{akte_dir}/" + _unique(
            doc_names, safe_name(f"{doc.id}_{doc.title}", fallback=str(doc.id)))
        version_entries = []
        for version in session.versions(doc):
            vdir = f"{doc_dir}/v{version.number}"
            bag.mkdir(vdir)
            names: set[str] = set()
            rel = f"{vdir}/" + _unique(names, safe_name(version.filename, fallback="content"))
            _copy_blob(uow, bag, version.sha256, version.size, rel)
            rendition_entries = []
            for rendition in session.renditions(version):
                rdir = f"{vdir}/" + _unique(names, safe_name(rendition.kind, fallback="rendition"))
                bag.mkdir(rdir)
                rrel = f"{rdir}/" + safe_name(rendition.filename, fallback="content")
                _copy_blob(uow, bag, rendition.sha256, rendition.size, rrel)
                rendition_entries.append({
                    "id": rendition.id, "kind": rendition.kind, "sha256": rendition.sha256,
                    "size": rendition.size, "mime": rendition.mime,
                    "filename": rendition.filename, "path": rrel,
                    "created_at": format_time(rendition.created_at),
                    "created_by": rendition.created_by,
                })
            version_entries.append({
                "number": version.number, "uuid": version.uuid, "sha256": version.sha256,
                "size": version.size, "mime": version.mime, "filename": version.filename,
                "comment": version.comment, "path": rel,
                "created_at": format_time(version.created_at),
                "created_by": version.created_by, "renditions": rendition_entries,
            })
        doc_entries.append({
            "id": doc.id, "uuid": doc.uuid, "title": doc.title, "kind": doc.kind,
            "vorgang_id": doc.vorgang_id, "parent_document_id": doc.parent_document_id,
            "document_date": doc.document_date.isoformat() if doc.document_date else None,
            "metadata": doc.meta, "created_at": format_time(doc.created_at),
            "created_by": doc.created_by, "path": doc_dir, "versions": version_entries,
        })
    status = session.disposal_status(akte)
    return {
        "id": akte.id, "uuid": akte.uuid, "aktenzeichen": akte.aktenzeichen,
        "title": akte.title, "kennzeichen": akte.unit.kennzeichen, "status": akte.status,
        "org_unit": akte.org_unit, "confidentiality": akte.confidentiality,
        "metadata": akte.meta, "external_ids": session.external_ids(akte),
        "created_at": format_time(akte.created_at), "created_by": akte.created_by,
        "closed_at": format_time(akte.closed_at) if akte.closed_at else None,
        "retention_years": status.retention_years,
        "retention_until": status.retention_until.isoformat() if status.retention_until
        else None,
        "disposal_decision": status.default_decision.value,
        "path": akte_dir,
        "vorgaenge": [
            {"id": v.id, "uuid": v.uuid, "parent_id": v.parent_id, "title": v.title,
             "status": v.status, "metadata": v.meta, "created_at": format_time(v.created_at),
             "created_by": v.created_by,
             "closed_at": format_time(v.closed_at) if v.closed_at else None}
            for v in vorgaenge
        ],
        "documents": doc_entries,
        **_audit_entry(uow, akte, [v.id for v in vorgaenge], [d.id for d in documents]),
    }


def _audit_entry(uow: UnitOfWork, akte: Akte, vorgang_ids: list[int],
                 document_ids: list[int]) -> dict[str, Any]:
    """Return the Akte's audit excerpt for the metadata, or why it is left out."""
    if Permission.AUDIT in uow.permissions(akte):
        return {"audit_events": _audit_excerpt(uow.orm, akte, vorgang_ids, document_ids)}
    return {"audit_events": None, "audit_excerpt_omitted": _OMITTED_REASON}


def _resolve(session: Session, items: Sequence[str | Akte]) -> list[Akte]:
    if isinstance(items, str | Akte):
        items = [items]
    akten: dict[int, Akte] = {}
    for item in items:
        akte = session.get_akte(item.id if isinstance(item, Akte) else item)
        if session.unit_of_work.is_disposed(akte):
            raise StateConflict(f"Akte {akte.aktenzeichen!r} was disposed; its content was "
                                "deleted and cannot be exported")
        akten.setdefault(akte.id, akte)
    if not akten:
        raise InvalidInput("no Akten given to export")
    return list(akten.values())


def _prepare_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty folder; choose a new one")
    out.parent.mkdir(parents=True, exist_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tag_files(uow: UnitOfWork, bag: _Bag, akten: list[Akte],
               source_organization: str | None, omitted: list[str]) -> None:
    root = bag.root
    (root / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8")
    lines = [f"Bag-Software-Agent: eakte {__version__}",
             f"Bagging-Date: {uow.now().date().isoformat()}"]
    if source_organization:
        lines.append(f"Source-Organization: {_label(source_organization)}")
    lines += [f"External-Identifier: {_label(a.aktenzeichen)}" for a in akten]
    if not omitted:
        lines.append(f"Internal-Sender-Description: e-Akte export of {len(akten)} Akte(n) "
                     "with every version and rendition, metadata and audit excerpt "
                     "(data/metadata.json)")
    else:
        lines.append(f"Internal-Sender-Description: e-Akte export of {len(akten)} Akte(n) "
                     "with every version and rendition and metadata (data/metadata.json); "
                     f"the audit excerpt of {len(omitted)} Akte(n) is not included: the "
                     "exporting principal may not read their audit log")
        lines += [f"{AUDIT_OMITTED_LABEL}: {_label(az)}" for az in omitted]
    lines.append(f"Payload-Oxum: {bag.octets}.{bag.files}")
    (root / "bag-info.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tags = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"]
    hashed = {name: _hash_file(root / name) for name in tags}
    for algorithm, index in (("sha256", 0), ("sha512", 1)):
        (root / f"tagmanifest-{algorithm}.txt").write_text(
            "".join(f"{hashed[name][index]}  {name}\n" for name in tags), encoding="utf-8")
    for name in [*tags, "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"]:
        with (root / name).open("rb") as fh:
            os.fsync(fh.fileno())


def _count_files(orm: OrmSession, akten: list[Akte]) -> int:
    ids = [a.id for a in akten]
    versions = orm.scalar(
        select(func.count()).select_from(Version)
        .join(Document, Document.id == Version.document_id)
        .where(Document.akte_id.in_(ids)))
    renditions = orm.scalar(
        select(func.count()).select_from(Rendition)
        .join(Version, Version.id == Rendition.version_id)
        .join(Document, Document.id == Version.document_id)
        .where(Document.akte_id.in_(ids)))
    return int(versions or 0) + int(renditions or 0)


def export_bagit(
    session: Session,
    aktenzeichen_list: Sequence[str | Akte],
    out_dir: str | os.PathLike[str],
    *,
    source_organization: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the Akten as one BagIt bag (RFC 8493) to ``out_dir`` and return its path.

    Every version's original and every rendition is copied with its exact bytes; the
    manifests carry SHA-256 and SHA-512; ``data/metadata.json`` holds the Akten, Vorgänge,
    documents and versions with their hashes and the audit events about them, for each
    Akte whose audit log the principal may read (else ``bag-info.txt`` names the Akte under
    :data:`AUDIT_OMITTED_LABEL` and its ``audit_events`` is ``null``). One
    ``export.bagit`` audit event per Akte records the export with the manifest's hash; it
    is kept even if the session later rolls back.

    Args:
        session: the session whose principal exports.
        aktenzeichen_list: Aktenzeichen (or Akten) to export; duplicates count once.
        out_dir: the bag folder to create; it must not exist or be empty.
        source_organization: the agency, written as ``Source-Organization``.
        progress: called as ``progress(files_done, files_total)``.

    Raises:
        NotFoundError: an Akte or a blob does not exist.
        StateConflict: an Akte was disposed (its content is gone).
        InvalidInput: no Akten given.
        IntegrityError: stored content does not match its SHA-256.
        ExportError: the target exists and is not empty, or writing failed.
    """
    uow = session.unit_of_work
    akten = _resolve(session, aktenzeichen_list)
    out = Path(out_dir)
    _prepare_target(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise ExportError(f"cannot write next to {out}: {exc}") from exc
    try:
        with (tmp / "manifest-sha256.txt").open("w", encoding="utf-8", newline="\n") as m256, \
                (tmp / "manifest-sha512.txt").open("w", encoding="utf-8",
                                                   newline="\n") as m512:
            bag = _Bag(tmp, m256, m512, progress, _count_files(uow.orm, akten))
            bag.mkdir("data")
            top: set[str] = {"metadata.json"}
            meta_path = tmp / "data" / "metadata.json"
            omitted: list[str] = []
            with meta_path.open("w", encoding="utf-8", newline="\n") as meta:
                meta.write(json.dumps({
                    "format": METADATA_FORMAT,
                    "exported_at": format_time(uow.now()),
                    "exported_by": uow.user,
                }, ensure_ascii=False)[:-1] + ', "akten": [\n')
                for i, akte in enumerate(akten):
                    entry = _write_akte(session, bag, akte, top)
                    if entry["audit_events"] is None:
                        omitted.append(akte.aktenzeichen)
                    meta.write(("" if i == 0 else ",\n")
                               + json.dumps(entry, ensure_ascii=False, sort_keys=True))
                meta.write("\n]}\n")
                meta.flush()
                os.fsync(meta.fileno())
            bag.record("data/metadata.json", *_hash_file(meta_path))
            m256.flush()
            m512.flush()
        _tag_files(uow, bag, akten, source_organization, omitted)
        for path in sorted(bag.dirs, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(path)
        _fsync_dir(tmp)
        manifest_sha = _hash_file(tmp / "manifest-sha256.txt")[0]
        os.replace(tmp, out)  # an empty target folder is replaced atomically
        _fsync_dir(out.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write the bag {out}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for akte in akten:
        uow.record(Action.EXPORT_BAGIT, "akte", akte, aktenzeichen=akte.aktenzeichen,
                   bag=out.name, files=bag.files, payload_oxum=f"{bag.octets}.{bag.files}",
                   manifest_sha256=manifest_sha,
                   external_identifiers=[a.aktenzeichen for a in akten],
                   audit_excerpt=akte.aktenzeichen not in omitted)
    return out
