"""Text from e-mail (.eml): headers, the preferred body, and every attachment as a part."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email import policy
from email.message import Message
from itertools import islice

from eakte.ingest._draft import Draft, DraftPart, ExtractionFailed
from eakte.ingest._markup import extract_html
from eakte.ingest.charset import decode_text
from eakte.ingest.limits import parse_email

__all__ = ["PartExtractor", "extract_eml"]

#: ``(data, claimed mime, filename, depth) -> parts``: extracts one attachment, returning
#: it first, followed by its own attachments (flattened) if it is an e-mail itself.
PartExtractor = Callable[[bytes, str, "str | None", int], list[DraftPart]]

_HEADERS = ("From", "To", "Cc", "Date", "Subject")


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # the email package raises assorted errors on junk
        return None
    return None if value is None else " ".join(str(value).split())


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # malformed transfer encodings
        return b""
    return payload if isinstance(payload, bytes) else b""


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # malformed parameters
        return None


def _leaves(part: Message, parent: Message | None) -> Iterator[tuple[Message, Message | None]]:
    """Yield ``(leaf, parent)`` in order; an attached message counts as one leaf."""
    if part.get_content_maintype() == "multipart":
        children = part.get_payload()
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message):
                yield from _leaves(child, part)
    else:
        yield part, parent


def _is_attachment(part: Message) -> bool:
    if part.get_content_maintype() == "message" or part.get_filename():
        return True
    if part.get_content_disposition() == "attachment":
        return True
    return part.get_content_type() not in {"text/plain", "text/html"}


def _add_text(part: Message, draft: Draft) -> None:
    payload = _payload(part)
    if part.get_content_type() == "text/html":
        extract_html(payload, draft, _charset(part))
    else:
        text, draft.charset = decode_text(payload, _charset(part))
        draft.add(text.replace("\r\n", "\n"))
    draft.newline()


def _attachment_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            inner = inner[0]
        if isinstance(inner, Message):
            try:
                return inner.as_bytes(policy=policy.default)
            except Exception:  # an unserialisable attached message: fall back to raw bytes
                return _payload(part)
    return _payload(part)


def extract_eml(data: bytes, draft: Draft, depth: int, extract_part: PartExtractor) -> None:
    """Extract an e-mail: headers and body into ``draft``, attachments into ``draft.parts``.

    The body is the ``text/plain`` alternative if there is one, else the HTML converted to
    text. Attachments (an attached e-mail included) are extracted with ``extract_part`` one
    level deeper; an attached e-mail's own attachments are flattened into ``draft.parts`` as
    ``"outer.eml/inner.pdf"``.

    Raises:
        ExtractionFailed: the bytes are not an e-mail message.
        UnsafeContent: its MIME parts nest deeper than the limit.
        TextFull: the text limit was reached.
    """
    message = parse_email(data, max_depth=draft.limits.max_email_depth)
    if not any(message.keys()):
        raise ExtractionFailed("not an e-mail message: no headers found")
    for name in _HEADERS:
        value = _header(message, name)
        if value:
            draft.add(f"{name}: {value}\n")

    body: Message | None
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # malformed structure: fall back to the leaf walk
        body = None
    limit = draft.limits.max_email_parts
    attachments: list[Message] = []
    inline: list[Message] = []
    twins = _alternatives_of(message, body, limit)
    for count, (leaf, _parent) in enumerate(_leaves(message, None), start=1):
        if count > limit:
            draft.problems.append(f"more than {limit} MIME parts; the rest were not read")
            break
        if leaf is body or id(leaf) in twins:
            continue
        if _is_attachment(leaf):
            attachments.append(leaf)
        else:
            inline.append(leaf)  # text parts beside the body (some mailers split bodies)
    if body is None and inline:
        body = inline.pop(0)
    if attachments:
        names = ", ".join(leaf.get_filename() or "(unnamed)" for leaf in attachments)
        draft.add(f"Attachments: {names}\n")
    draft.add("\n")
    for part in [body, *inline] if body is not None else inline:
        _add_text(part, draft)
    if draft.charset is None:
        draft.charset = _charset(message) or "utf-8"

    for leaf in attachments:
        blob, claimed = _attachment_bytes(leaf), leaf.get_content_type()
        draft.parts.extend(extract_part(blob, claimed, leaf.get_filename(), depth + 1))


def _alternatives_of(message: Message, body: Message | None, limit: int) -> set[int]:
    """Return the ids of the leaves that are alternatives of ``body`` (its HTML twin)."""
    if body is None:
        return set()
    twins: set[int] = set()
    for leaf, parent in islice(_leaves(message, None), limit):
        if parent is None or parent.get_content_type() != "multipart/alternative":
            continue
        siblings = parent.get_payload()
        if isinstance(siblings, list) and any(s is body for s in siblings):
            twins.add(id(leaf))
    return twins
