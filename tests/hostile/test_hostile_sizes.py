"""Files over the configured size limit are refused before anything is kept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select
from store_state import StoreState, assert_unchanged

import eakte
from eakte.errors import UnsafeContent
from eakte.ingest.limits import ExtractLimits
from eakte.model import TextExtraction, Version

LIMIT = 4096


@pytest.fixture
def small(store_factory, make_akte, db_url, tmp_path: Path):
    """A store opened with a 4 KiB file limit (created by that very call)."""
    store = eakte.open(tmp_path / "klein", db_url=db_url, max_file_size=LIMIT)
    store_factory._stores.append(store)
    assert store.max_file_size == LIMIT
    akte = make_akte(store)
    with store.session() as s:
        doc = s.file_document(akte, b"x" * LIMIT, filename="genau-am-limit.txt")
    return store, akte, doc


class _Endless(io.RawIOBase):
    """A stream that never ends and claims no size."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"a" * len(buffer)
        return len(buffer)


def _sources(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "gross.txt"
    path.write_bytes(b"y" * (LIMIT + 1))
    return {"bytes": b"y" * (LIMIT + 1), "path": path,
            "stream": io.BytesIO(b"y" * (LIMIT + 1)), "endless": _Endless()}


@pytest.mark.parametrize("kind", ["bytes", "path", "stream", "endless"])
def test_one_byte_over_the_limit_is_refused(small, tmp_path: Path, kind: str) -> None:
    store, akte, _ = small
    source = _sources(tmp_path)[kind]
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent) as info, store.session() as s:
        s.file_document(akte, source, filename="gross.txt")  # type: ignore[arg-type]
    assert type(info.value) is UnsafeContent
    assert str(LIMIT) in str(info.value)
    assert_unchanged(store, before)


def test_versions_renditions_and_batches_are_limited_too(small, tmp_path: Path) -> None:
    store, akte, doc = small
    files = []
    for i, size in enumerate((10, 20, LIMIT + 1)):
        path = tmp_path / f"datei-{i}.txt"
        path.write_bytes(b"%d" % i * size)
        files.append(path)
    before = StoreState.of(store)
    with pytest.raises(UnsafeContent), store.session() as s:
        s.add_version(s.get_document(doc.id), b"z" * (LIMIT + 1), filename="v2.txt")
    with pytest.raises(UnsafeContent), store.session() as s:
        s.add_rendition(s.get_version(s.get_document(doc.id)), b"z" * (LIMIT + 1),
                        kind="text", filename="r.txt")
    with pytest.raises(UnsafeContent), store.session() as s:
        s.file_documents(s.get_akte(akte.id), files)
    assert_unchanged(store, before)  # a refused batch publishes none of its blobs


def test_content_over_the_extraction_limit_is_stored_without_text(store_factory,
                                                                  make_akte) -> None:
    store = store_factory.init()
    store.indexer.limits = ExtractLimits(max_input_bytes=1000)
    akte = make_akte(store)
    data = b"Bauantrag " * 200
    with store.session() as s:
        doc = s.file_document(akte, data, filename="lang.txt")
    with store.orm_session() as orm:
        status, problems = orm.execute(
            select(TextExtraction.status, TextExtraction.problems)
            .join(Version, Version.id == TextExtraction.version_id)
            .where(Version.document_id == doc.id)).one()
    assert status == "failed" and "larger than the limit" in problems[0]
    with store.session() as s:
        assert s.read_content(s.get_document(doc.id)) == data
