"""eakte e-mail adapter: .eml files, mbox files and Maildir folders into an Akte.

Each message is filed as a document (the original .eml bytes) and each attachment as an
Anlage of it. The message's key is its Message-ID (without angle brackets); a message
without one is keyed by ``sha256:`` and the hash of its raw bytes. Filing the same message
again, from any source, finds it filed and creates nothing. Every message ends as its own
result: one that cannot be read or parsed (MIME parts nested thousands of levels deep, an
unreadable file) fails on its own, and the messages after it are filed in the same run.
"""

from __future__ import annotations

import functools
import hashlib
import mailbox
import mimetypes
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

from eakte.adapter import (
    AdapterParam,
    CaseRecord,
    DocumentKind,
    DocumentRecord,
    ExtractLimits,
    FieldMapping,
    Filer,
    FilingResult,
    FolderFile,
    InvalidInput,
    RunReport,
    clean_filename,
    parse_email,
    scan_folder,
)

__all__ = ["EmailAdapter", "MailItem", "case_of", "message_key", "read_mails"]

__version__ = "0.1.0"

_MAX_KEY = 200


@dataclass(frozen=True)
class MailItem:
    """One raw message and where it came from (``path`` or ``path#key`` in a mailbox).

    ``problem`` says why the message could not be read (``raw`` is then empty).
    """

    raw: bytes
    origin: str
    problem: str | None = None


def _read(origin: str, read: Callable[[], bytes]) -> MailItem:
    try:
        return MailItem(read(), origin)
    except (OSError, mailbox.Error, ValueError) as exc:
        return MailItem(b"", origin, f"cannot read it: {exc}")


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def read_mails(paths: Sequence[str | os.PathLike[str]]) -> Iterator[MailItem]:
    """Yield every message of the given .eml files, mbox files and Maildir folders.

    A plain folder yields its ``*.eml`` files (recursively, sorted), walked as
    :func:`eakte.adapter.scan_folder` walks: hidden entries and symbolic links are
    left out. A message that cannot be read comes as an item with its ``problem``, so
    the others still come.

    Raises:
        InvalidInput: a path does not exist.
    """
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            if _is_maildir(path):
                box = mailbox.Maildir(path, factory=None, create=False)
                for key in sorted(box.keys()):
                    yield _read(f"{path}#{key}", functools.partial(box.get_bytes, key))
            else:
                for found in scan_folder(path).files:
                    if found.name.lower().endswith(".eml"):
                        yield _read(str(found.path), functools.partial(_read_file, found))
        elif path.is_file():
            if path.suffix.lower() != ".eml" and _is_mbox(path):
                mbox = mailbox.mbox(path, factory=None, create=False)
                try:
                    for key in mbox.keys():
                        yield _read(f"{path}#{key}", functools.partial(mbox.get_bytes, key))
                finally:
                    mbox.close()
            else:
                yield _read(str(path), path.read_bytes)
        else:
            raise InvalidInput(f"mail source {str(path)!r} does not exist")


def _read_file(found: FolderFile) -> bytes:
    with found.open() as fh:
        return fh.read()


def message_key(message: Message, raw: bytes) -> str:
    """Return the key of a message: its Message-ID, else ``sha256:<hash of the bytes>``."""
    try:
        value = message.get("Message-ID")
    except Exception:  # the email package raises assorted errors on junk headers
        value = None
    text = " ".join(str(value or "").split()).strip().strip("<>").strip()
    if not text:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(text) > _MAX_KEY or any(ord(ch) < 32 for ch in text):
        return "message-id-sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    return text


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # malformed header
        return None
    return None if value is None else " ".join(str(value).split()) or None


def _leaves(part: Message) -> Iterator[Message]:
    """Yield the leaf parts in order; an attached message is one leaf."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _leaves(child)
    else:
        yield part


def _attachment_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.default)
        return b""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # malformed transfer encoding
        return b""
    return payload if isinstance(payload, bytes) else b""


def _attachments(message: Message, limits: ExtractLimits) -> tuple[list[DocumentRecord], int]:
    """Return the message's attachments as records, and how many empty ones were left out."""
    records: list[DocumentRecord] = []
    skipped = 0
    body_seen = False
    for part in _leaves(message):
        ctype = part.get_content_type()
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        is_body = (ctype in ("text/plain", "text/html") and not filename
                   and disposition != "attachment")
        if is_body or (not body_seen and part is message):
            body_seen = True
            continue
        if len(records) >= limits.max_email_parts:
            raise InvalidInput(f"the message has more than {limits.max_email_parts} parts")
        data = _attachment_bytes(part)
        if not data:
            skipped += 1
            continue
        number = len(records) + 1
        ext = ".eml" if part.get_content_maintype() == "message" else (
            mimetypes.guess_extension(ctype) or ".bin")
        try:
            name = clean_filename(filename) if filename else f"anlage-{number}{ext}"
        except InvalidInput:
            name = f"anlage-{number}{ext}"
        records.append(DocumentRecord(document_id=f"attachment-{number}", content=data,
                                      filename=name, title=name,
                                      metadata={"mime_declared": ctype}))
    return records, skipped


def case_of(item: MailItem, *, kind: str = "incoming", aktenzeichen: str | None = None,
            limits: ExtractLimits | None = None) -> CaseRecord:
    """Return the case (one message document with its Anlagen) for a raw message.

    Raises:
        InvalidInput: the message is empty, unreadable or has too many parts.
        UnsafeContent: its MIME parts nest deeper than the limit.
    """
    if item.problem:
        raise InvalidInput(f"{item.origin}: {item.problem}")
    if not item.raw.strip():
        raise InvalidInput(f"{item.origin}: empty message")
    limits = limits or ExtractLimits()
    message = parse_email(item.raw, what=item.origin, max_depth=limits.max_email_depth)
    key = message_key(message, item.raw)
    subject = _header(message, "Subject")
    date_header = _header(message, "Date")
    sent = None
    if date_header:
        try:
            sent = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            sent = None
    fields: dict[str, Any] = {
        "message_id": key,
        "from": _header(message, "From"),
        "to": _header(message, "To"),
        "cc": _header(message, "Cc"),
        "subject": subject,
        "date": sent.isoformat() if sent else date_header,
        "in_reply_to": _header(message, "In-Reply-To"),
    }
    attachments, skipped = _attachments(message, limits)
    title = subject or "(ohne Betreff)"
    try:
        filename = clean_filename(f"{title[:100]}.eml")
    except InvalidInput:
        filename = "message.eml"
    metadata: dict[str, Any] = {"mail": {k: v for k, v in fields.items() if v is not None}}
    if skipped:
        metadata["mail"]["empty_attachments_skipped"] = skipped
    document = DocumentRecord(
        document_id="message", content=item.raw, filename=filename, title=title, kind=kind,
        document_date=sent.date() if sent else None, metadata=metadata,
        attachments=attachments,
    )
    return CaseRecord(object_id=key, fields=fields, documents=[document],
                      aktenzeichen=aktenzeichen, vorgang=False)


class EmailAdapter:
    """File e-mails into an Akte: each message as a document, attachments as its Anlagen.

    Sources are .eml files, folders of .eml files, mbox files and Maildir folders; nothing
    is moved or deleted there. The Akte is --akte (an Aktenzeichen) or what the mapping
    decides from the fields message_id, from, to, cc, subject, date and in_reply_to.
    Messages are keyed by Message-ID (without one: by the SHA-256 of the raw bytes), so
    running again, or filing the same message from another mailbox, creates nothing new.
    """

    name: ClassVar[str] = "email"
    api_version: ClassVar[int] = 1
    summary: ClassVar[str] = "File e-mails (.eml, mbox, Maildir) with attachments as " \
        "Anlagen, deduplicated by Message-ID"
    params: ClassVar[Sequence[AdapterParam]] = (
        AdapterParam("source", "An .eml file, a folder of .eml files, an mbox file or a "
                     "Maildir folder; may be given several times.", type="path",
                     required=True, multiple=True),
        AdapterParam("akte", "Aktenzeichen of the Akte to file into (else the mapping "
                     "decides)."),
        AdapterParam("mapping", "JSON mapping of the mail fields to the Akte and metadata.",
                     type="path"),
        AdapterParam("system", "The name in external keys (default: the mapping's system, "
                     "else 'email')."),
        AdapterParam("kind", "Document kind: incoming, outgoing or internal.",
                     default="incoming"),
    )

    def __init__(
        self,
        source: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = (),
        akte: str | None = None,
        mapping: str | os.PathLike[str] | FieldMapping | None = None,
        system: str | None = None,
        kind: str = "incoming",
    ) -> None:
        self.sources = [source] if isinstance(source, str | os.PathLike) else list(source)
        if not self.sources:
            raise InvalidInput("the e-mail adapter needs at least one --source")
        self.mapping = (mapping if isinstance(mapping, FieldMapping) or mapping is None
                        else FieldMapping.from_file(mapping))
        if not akte and self.mapping is None:
            raise InvalidInput("give --akte or a --mapping that says which Akte mails go to")
        self.akte = akte or None
        self.system = system or (self.mapping.system if self.mapping else None) or self.name
        try:
            self.kind = DocumentKind(kind).value
        except ValueError as exc:
            raise InvalidInput(f"unknown document kind {kind!r}") from exc

    def run_once(self, filer: Filer) -> RunReport:
        """File every message of the sources (those filed before come back unchanged)."""
        report = RunReport(self.name)
        limits = ExtractLimits()
        for item in read_mails(self.sources):
            result = filer.attempt(_item_name(item), functools.partial(
                self._file, item, filer, limits))
            if not result.ok:
                report.notes.append(f"{item.origin}: {result.error}")
            report.results.append(result)
        return report

    def _file(self, item: MailItem, filer: Filer, limits: ExtractLimits) -> FilingResult:
        case = case_of(item, kind=self.kind, aktenzeichen=self.akte, limits=limits)
        return filer.file_case(case)


def _item_name(item: MailItem) -> str:
    """Name a message that fails before its key is known: by the hash of its bytes."""
    if item.raw:
        return "sha256:" + hashlib.sha256(item.raw).hexdigest()
    return os.path.basename(item.origin.split("#", 1)[0]) or item.origin
