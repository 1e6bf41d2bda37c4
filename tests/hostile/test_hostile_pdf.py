"""Corrupt, truncated and encrypted PDFs are stored as records; extraction records why not.

A damaged PDF is still a record that must be kept: filing never refuses it and no exception
escapes indexing; the text extraction is recorded as ``failed`` with the reason, and the
bytes read back unchanged. Only bytes that are not a PDF at all under a ``.pdf`` name are
refused (``UnsafeContent``, see ``tests/ingest/test_mime_claims.py``).
"""

from __future__ import annotations

import pytest
from hostile_files import PE, broken_pdfs, good_pdf
from sqlalchemy import select
from store_state import StoreState, assert_unchanged

from eakte.errors import UnsafeContent
from eakte.model import TextExtraction, Version

EXPECTED = {
    "truncated": "damaged PDF",
    "header-only": "damaged PDF",
    "garbage-body": "damaged PDF",
    "no-xref": "damaged PDF",
    "encrypted": "encrypted PDF",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_broken_pdf_is_filed_and_its_extraction_records_the_problem(filled, name: str
                                                                      ) -> None:
    data = broken_pdfs()[name]
    with filled.store.session() as s:
        doc = s.file_document(filled.akte, data, filename=f"{name}.pdf")
        s.add_version(doc, good_pdf(), filename="repariert.pdf")
        s.add_version(doc, data, filename=f"{name}-wieder.pdf")
    with filled.store.orm_session() as orm:
        rows = orm.execute(
            select(Version.number, TextExtraction.status, TextExtraction.problems)
            .join(TextExtraction, TextExtraction.version_id == Version.id)
            .where(Version.document_id == doc.id)).all()
    assert len(rows) == 1  # the index holds the newest version
    number, status, problems = rows[0]
    assert (number, status) == (3, "failed")
    assert problems[0].startswith(EXPECTED[name])
    assert filled.store.last_index_error is None
    with filled.store.session() as s:
        assert s.read_content(s.get_document(doc.id), version=1) == data
        assert s.search("genehmigt").total == 0  # version 2 is no longer the newest
    assert filled.store.verify().ok


def test_an_executable_named_pdf_is_refused_and_nothing_changes(filled) -> None:
    before = StoreState.of(filled.store)
    with pytest.raises(UnsafeContent) as info, filled.store.session() as s:
        s.file_document(filled.akte, PE, filename="rechnung.pdf")
    assert type(info.value) is UnsafeContent
    assert "'rechnung.pdf'" in str(info.value)
    assert_unchanged(filled.store, before)
