"""eakte OZG adapter: online applications (submission.json + attachments) become Vorgänge.

A submission is a folder or a zip holding ``submission.json`` (schema
``schemas/ozg-submission.schema.json``) and the attachments it names. Each becomes a new
Vorgang in the Akte the mapping decides, keyed by its ``submission_id``, with the original
``submission.json``, a readable text rendering of the form (for search and for clerks) and
every attachment as documents; the form data is also the Vorgang's metadata.

Zips are treated as hostile: members are judged by the central directory before anything
is decompressed (count, total size, compression ratio), read in bounded chunks, and names
with ``..``, absolute paths, symlinks or duplicates refuse the whole submission. In a
folder, no file is read through a symbolic link (each is opened with ``O_NOFOLLOW``), and
``submission.json`` is parsed with a nesting limit. Every submission ends as its own
result: one that breaks (even unexpectedly) fails alone and the next is filed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from eakte.adapter import (
    AdapterParam,
    CaseRecord,
    DocumentRecord,
    ExtractLimits,
    FieldMapping,
    Filer,
    FilingResult,
    InvalidInput,
    RunReport,
    UnsafeContent,
    check_zip,
    clean_filename,
    iter_member,
    load_json,
    read_in_folder,
    unsafe_member_name,
    validate,
)

__all__ = ["SUBMISSION_FILE", "OzgAdapter", "Submission", "read_submission", "render_form"]

__version__ = "0.1.0"

#: The name of the form-data file in every submission.
SUBMISSION_FILE = "submission.json"
_MAX_JSON = 16 * 1024 * 1024
_KNOWN = {"format", "submission_id", "service", "submitted_at", "applicant", "form",
          "attachments"}


@dataclass
class Submission:
    """A submission read completely into memory, checked and ready to file.

    Attributes:
        source: the folder or zip it came from.
        raw: the bytes of submission.json as delivered.
        data: its parsed content.
        files: attachment path → content.
    """

    source: Path
    raw: bytes
    data: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def _clean_path(name: str) -> str:
    reason = unsafe_member_name(name)
    if reason:
        raise UnsafeContent(f"unsafe attachment path {name!r}: {reason}")
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    if not parts:
        raise InvalidInput(f"unusable attachment path {name!r}")
    return "/".join(parts)


def _parse(raw: bytes, where: str) -> dict[str, Any]:
    data = load_json(raw, what=f"{where}: {SUBMISSION_FILE}")
    validate(data, "ozg-submission", what=f"{where}: {SUBMISSION_FILE}")
    assert isinstance(data, dict)
    return data


def _from_folder(folder: Path, max_size: int) -> Submission:
    root = folder.resolve()
    json_path = folder / SUBMISSION_FILE
    if json_path.is_symlink() or not json_path.is_file():
        raise InvalidInput(f"{folder}: no {SUBMISSION_FILE}")
    raw = read_in_folder(folder, SUBMISSION_FILE, limit=_MAX_JSON)
    data = _parse(raw, str(folder))
    files: dict[str, bytes] = {}
    for attachment in data.get("attachments") or []:
        name = _clean_path(attachment["file"])
        path = folder.joinpath(*name.split("/"))
        current = folder
        for part in name.split("/"):  # no symlink anywhere on the way
            current = current / part
            if current.is_symlink():
                raise UnsafeContent(f"{folder}: attachment {name!r} is a symbolic link")
        if not path.resolve().is_relative_to(root):
            raise UnsafeContent(f"{folder}: attachment {name!r} lies outside the submission")
        if not path.is_file():
            raise InvalidInput(f"{folder}: attachment {name!r} is missing")
        if path.stat().st_size > max_size:
            raise UnsafeContent(f"{folder}: attachment {name!r} exceeds {max_size} bytes")
        # opened component by component without following links: a swap after the
        # checks above is refused, not followed
        files[name] = read_in_folder(folder, name, limit=max_size)
    return Submission(folder, raw, data, files)


def _from_zip(path: Path, max_size: int, limits: ExtractLimits) -> Submission:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path}: not a readable zip: {exc}") from exc
    with archive:
        check_zip(archive, limits)
        members: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeContent(f"{path}: member {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise UnsafeContent(f"{path}: member {info.filename!r} is encrypted")
            name = _clean_path(info.filename)
            if name in members:
                raise UnsafeContent(f"{path}: member {name!r} appears twice")
            members[name] = info
        member_limits = replace(limits, max_member_bytes=min(limits.max_member_bytes,
                                                             max_size))

        def read(name: str) -> bytes:
            try:
                return b"".join(iter_member(archive, members[name], member_limits))
            except zipfile.BadZipFile as exc:
                raise InvalidInput(f"{path}: member {name!r} is corrupt: {exc}") from exc

        if SUBMISSION_FILE not in members:
            raise InvalidInput(f"{path}: no {SUBMISSION_FILE} at the top of the zip")
        raw = read(SUBMISSION_FILE)
        data = _parse(raw, str(path))
        files: dict[str, bytes] = {}
        for attachment in data.get("attachments") or []:
            name = _clean_path(attachment["file"])
            if name not in members:
                raise InvalidInput(f"{path}: attachment {name!r} is not in the zip")
            files[name] = read(name)
    return Submission(path, raw, data, files)


def read_submission(path: str | os.PathLike[str], *, max_size: int = 256 * 1024 * 1024,
                    limits: ExtractLimits | None = None) -> Submission:
    """Read and check a submission folder or zip completely, before anything is filed.

    Raises:
        InvalidInput: no or invalid submission.json, a missing or mismatching attachment.
        UnsafeContent: traversal, symlinks, zip bombs, oversized members.
    """
    source = Path(path)
    if source.is_dir():
        submission = _from_folder(source, max_size)
    elif source.is_file():
        submission = _from_zip(source, max_size, limits or ExtractLimits())
    else:
        raise InvalidInput(f"submission {str(source)!r} does not exist")
    for attachment in submission.data.get("attachments") or []:
        expected = attachment.get("sha256")
        name = _clean_path(attachment["file"])
        if expected and hashlib.sha256(submission.files[name]).hexdigest() != expected:
            raise InvalidInput(f"{source}: attachment {name!r} does not match its SHA-256")
        if not submission.files[name]:
            raise InvalidInput(f"{source}: attachment {name!r} is empty")
    return submission


def _render(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                lines.append(f"{pad}{key}:")
                _render(item, indent + 1, lines)
            else:
                lines.append(f"{pad}{key}: {'' if item is None else item}")
    elif isinstance(value, list):
        for index, item in enumerate(value, 1):
            if isinstance(item, dict | list):
                lines.append(f"{pad}{index}.")
                _render(item, indent + 1, lines)
            else:
                lines.append(f"{pad}{index}. {item}")
    else:
        lines.append(f"{pad}{value}")


def render_form(data: dict[str, Any]) -> str:
    """Return a readable plain-text rendering of a submission (for search and clerks)."""
    service = data["service"]
    lines = [f"Online-Antrag: {service['name']} ({service['id']})",
             f"Antrags-ID: {data['submission_id']}",
             f"Eingegangen: {data['submitted_at']}"]
    applicant = data.get("applicant") or {}
    if applicant:
        lines += ["", "Antragsteller:"]
        _render(applicant, 1, lines)
    lines += ["", "Formulardaten:"]
    _render(data["form"], 1, lines)
    attachments = data.get("attachments") or []
    if attachments:
        lines += ["", "Anlagen:"]
        lines += [f"  - {a.get('title') or a['file']} ({a['file']})" for a in attachments]
    return "\n".join(lines) + "\n"


def case_of(submission: Submission) -> CaseRecord:
    """Return the case for a checked submission."""
    data = submission.data
    sid = data["submission_id"]
    try:
        day = datetime.fromisoformat(data["submitted_at"].replace("Z", "+00:00")).date()
    except ValueError:
        day = None
    service = data["service"]
    documents = [
        DocumentRecord("submission.json", submission.raw, filename=SUBMISSION_FILE,
                       title=f"Antragsdaten {service['name']}", kind="incoming",
                       document_date=day),
        DocumentRecord("submission.txt", render_form(data).encode("utf-8"),
                       filename="antrag.txt", title=f"Antrag {service['name']} (Text)",
                       kind="incoming", document_date=day),
    ]
    for index, attachment in enumerate(data.get("attachments") or [], 1):
        name = _clean_path(attachment["file"])
        documents.append(DocumentRecord(
            attachment.get("id") or f"attachment:{name}", submission.files[name],
            filename=clean_filename(name), title=attachment.get("title"), kind="incoming",
            document_date=day,
            metadata={"ozg": {"file": name, "position": index,
                              **({"mime": attachment["mime"]} if attachment.get("mime")
                                 else {})}},
        ))
    fields = {
        "submission_id": sid,
        "service": service,
        "submitted_at": data["submitted_at"],
        "applicant": data.get("applicant") or {},
        "form": data["form"],
    }
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    return CaseRecord(object_id=sid, fields=fields, documents=documents,
                      metadata={"ozg": extra} if extra else {})


def _submissions(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir() and not (path / SUBMISSION_FILE).exists():
            for child in sorted(path.iterdir()):
                if child.name.startswith("."):
                    continue
                if (child.is_dir() and (child / SUBMISSION_FILE).exists()) or (
                        child.is_file() and child.suffix.lower() == ".zip"):
                    yield child
        else:
            yield path


class OzgAdapter:
    """Take OZG online applications: each submission becomes a Vorgang with its documents.

    --source is a submission (a folder or zip with submission.json) or a folder holding
    submissions (subfolders and .zip files). The mapping decides the Aktenplan unit and
    the Akte (e.g. a new Akte per submission, or the applicant's existing one) from the
    fields submission_id, service.id, service.name, submitted_at, applicant.* and form.*.
    Submissions are keyed by submission_id: running again creates nothing new. With
    --done/--failed, a submission is moved there after it was filed (or refused).
    """

    name: ClassVar[str] = "ozg"
    api_version: ClassVar[int] = 1
    summary: ClassVar[str] = "OZG online applications (submission.json plus attachments, " \
        "folder or zip) become Vorgaenge"
    params: ClassVar[Sequence[AdapterParam]] = (
        AdapterParam("source", "A submission (folder or zip) or a folder of submissions; "
                     "may be given several times.", type="path", required=True,
                     multiple=True),
        AdapterParam("mapping", "JSON mapping of the submission's fields to Akte, Vorgang "
                     "and document metadata.", type="path", required=True),
        AdapterParam("system", "The name in external keys (default: the mapping's system, "
                     "else 'ozg')."),
        AdapterParam("done", "Move filed submissions into this folder.", type="path"),
        AdapterParam("failed", "Move refused submissions into this folder.", type="path"),
    )

    def __init__(
        self,
        source: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = (),
        mapping: str | os.PathLike[str] | FieldMapping | None = None,
        system: str | None = None,
        done: str | os.PathLike[str] | None = None,
        failed: str | os.PathLike[str] | None = None,
        *,
        limits: ExtractLimits | None = None,
    ) -> None:
        sources = [source] if isinstance(source, str | os.PathLike) else list(source)
        if not sources:
            raise InvalidInput("the OZG adapter needs at least one --source")
        self.sources = [Path(s) for s in sources]
        if mapping is None:
            raise InvalidInput("the OZG adapter needs a --mapping")
        self.mapping = mapping if isinstance(mapping, FieldMapping) else \
            FieldMapping.from_file(mapping)
        self.system = system or self.mapping.system or self.name
        self.done = Path(done) if done else None
        self.failed = Path(failed) if failed else None
        self.limits = limits or ExtractLimits()

    def run_once(self, filer: Filer) -> RunReport:
        """Read, check and file every submission of the sources."""
        report = RunReport(self.name)
        for path in _submissions(self.sources):
            if not path.exists():
                report.notes.append(f"{path} does not exist")
                continue
            result = filer.attempt(path.name, functools.partial(self._file, path, filer))
            report.results.append(result)
            target = self.done if result.ok else self.failed
            if target is not None:
                try:
                    _move(path, target)
                except OSError as exc:
                    report.notes.append(f"{path}: could not be moved to {target}: {exc}")
        return report

    def _file(self, path: Path, filer: Filer) -> FilingResult:
        submission = read_submission(path, max_size=filer.store.max_file_size,
                                     limits=self.limits)
        return filer.file_case(case_of(submission))


def _move(path: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    destination = target / path.name
    number = 2
    while destination.exists():
        destination = target / f"{path.stem}-{number}{path.suffix}"
        number += 1
    shutil.move(str(path), destination)
