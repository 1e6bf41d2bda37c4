"""Reading content checks its SHA-256 and refuses damaged bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import eakte
from eakte.storage import LocalBlobStore


def test_damaged_blob_is_refused_on_read(tmp_path: Path) -> None:
    with eakte.init(tmp_path / "s") as store:
        with store.session() as s:
            s.add_plan_unit("1", "Allgemeines")
            akte = s.create_akte("1", "Akte")
            doc = s.file_document(akte, b"Originaltext des Bescheids", filename="b.txt")
        assert isinstance(store.blobs, LocalBlobStore)
        with store.session() as s:
            sha = s.get_version(doc).sha256
        path = store.blobs.path_for(sha)
        os.chmod(path, 0o644)
        path.write_bytes(b"Originaltext des Bescheidz")
        with store.session() as s, pytest.raises(eakte.IntegrityError, match=sha):
            s.read_content(s.get_document(doc.id))
        # the attempted read is still on record
        with store.session() as s:
            reads = [e for e in s.audit_events() if e.action == "content.read"]
            assert len(reads) == 1 and reads[0].details["sha256"] == sha


def test_streamed_read_returns_exact_bytes(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    with eakte.init(tmp_path / "s") as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        doc = s.file_document(s.create_akte("1", "Akte"), data, filename="x.bin")
        with s.open_content(doc) as fh:
            chunks = []
            while chunk := fh.read(65536):
                chunks.append(chunk)
        assert b"".join(chunks) == data
