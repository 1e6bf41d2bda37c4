"""Text from PDF with pypdf: encrypted and damaged files fail softly, scans are flagged for OCR."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from eakte.errors import UnsafeContent
from eakte.ingest._draft import Draft, ExtractionFailed

if TYPE_CHECKING:
    from pypdf import PdfReader

__all__ = ["extract_pdf"]


def _ranges(numbers: list[int]) -> str:
    """Format ``[1, 2, 3, 5]`` as ``"1-3, 5"``."""
    spans: list[str] = []
    start = prev = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == prev + 1:
            prev = number
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if number is not None:
            start = prev = number
    return ", ".join(spans)


def extract_pdf(data: bytes, draft: Draft) -> None:
    """Extract the text layer of a PDF into ``draft``.

    A PDF whose pages all lack a text layer sets ``draft.needs_ocr``; some pages without
    text are recorded as a problem. Pages past ``max_pdf_pages`` are skipped.

    Raises:
        ExtractionFailed: damaged, truncated or password-protected PDF.
        UnsafeContent: a stream decompresses beyond pypdf's output limits (a PDF bomb).
        TextFull: the text limit was reached.
    """
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _decrypt(reader):
            raise ExtractionFailed("encrypted PDF: a password is needed to read its text")
        count = len(reader.pages)
    except LimitReachedError as exc:
        raise UnsafeContent(f"PDF bomb: {exc}") from exc
    except (ExtractionFailed, MemoryError):
        raise
    except Exception as exc:  # pypdf raises anything on a malformed file
        raise ExtractionFailed(f"damaged PDF: {type(exc).__name__}: {exc}") from exc
    if count == 0:
        raise ExtractionFailed("damaged PDF: no pages")

    limit = draft.limits.max_pdf_pages
    if count > limit:
        draft.problems.append(f"only the first {limit} of {count} pages were read")
    empty: list[int] = []
    broken: list[int] = []
    for number in range(1, min(count, limit) + 1):
        try:
            text = reader.pages[number - 1].extract_text()
        except LimitReachedError as exc:
            raise UnsafeContent(f"PDF bomb on page {number}: {exc}") from exc
        except MemoryError:
            raise
        except Exception as exc:  # pypdf raises anything on malformed content streams
            broken.append(number)
            draft.problems.append(f"page {number}: text unreadable ({type(exc).__name__}: {exc})")
            continue
        if not text.strip():
            empty.append(number)
            continue
        draft.newline()
        draft.add(text)
        draft.newline()
    read = min(count, limit)
    if len(broken) == read:
        raise ExtractionFailed("damaged PDF: no page could be read")
    if len(empty) + len(broken) == read:
        draft.needs_ocr = True
        draft.problems.append("no text layer: the PDF looks scanned; OCR is needed")
    elif empty:
        draft.problems.append(f"no text layer on pages {_ranges(empty)}; OCR may find more")


def _decrypt(reader: PdfReader) -> bool:
    """Try the empty user password (owner-password-only PDFs); report success."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError, PyPdfError

    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except (DependencyError, NotImplementedError) as exc:
        raise ExtractionFailed(f"encrypted PDF: cannot decrypt ({exc})") from exc
    except PyPdfError:
        return False
