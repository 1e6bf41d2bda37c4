"""``eakte add`` of folders: links and hidden files, sub-folder paths, progress, summaries."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import eakte
from eakte.cli._common import fmt_size


def _folder(tmp_path: Path) -> Path:
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "eingang"
    (folder / "plaene").mkdir(parents=True)
    (folder / "antrag.txt").write_bytes(b"Antrag auf Baugenehmigung\n")
    (folder / "plaene" / "grundriss.txt").write_bytes(b"Grundriss EG\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "passwd").symlink_to(secret)
    (folder / "plaene" / "kopie.txt").symlink_to("../antrag.txt")
    return folder


def test_links_and_hidden_files_are_skipped_and_reported(ok, akte, store, tmp_path) -> None:
    folder = _folder(tmp_path)
    result = ok("add", akte, str(folder), "--json")
    docs = json.loads(result.stdout)
    assert [d["source_path"] for d in docs] == ["antrag.txt", "plaene/grundriss.txt"]
    assert ("skipped 3: .DS_Store (hidden), passwd (symlink), plaene/kopie.txt (symlink)"
            in result.stderr)
    with eakte.open(store) as s_, s_.session() as s:
        filed = {s.read_content(d) for d in s.documents(s.get_akte(akte))}
        assert not any(b"root:" in content for content in filed)
        assert s.get_document(docs[1]["id"]).meta == {"source_path": "plaene/grundriss.txt"}


def test_follow_symlinks_never_leaves_the_folder(ok, akte, tmp_path) -> None:
    folder = _folder(tmp_path)
    result = ok("add", akte, str(folder), "--follow-symlinks", "--json")
    docs = json.loads(result.stdout)
    assert [d["source_path"] for d in docs] == [
        "antrag.txt", "plaene/grundriss.txt", "plaene/kopie.txt"]
    assert "passwd (symlink outside the folder)" in result.stderr


def test_a_folder_of_nothing_but_skipped_entries_is_a_usage_error(run, akte, tmp_path) -> None:
    folder = tmp_path / "leer"
    folder.mkdir()
    (folder / ".DS_Store").write_bytes(b"x")
    result = run("add", akte, str(folder))
    assert result.exit_code == 2
    assert "skipped 1: .DS_Store (hidden)" in result.stderr
    assert "only skipped entries" in result.stderr


def _many(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "viele"
    folder.mkdir()
    for i in range(count):
        (folder / f"vermerk-{i:03d}.txt").write_text(f"Vermerk Nummer {i}\n", encoding="utf-8")
    return folder


def test_many_documents_print_a_summary_and_list_prints_them_all(ok, akte, tmp_path) -> None:
    folder = _many(tmp_path, 60)
    size = fmt_size(sum(p.stat().st_size for p in folder.iterdir()))
    summary = ok("add", akte, str(folder)).stdout
    assert re.search(rf"Filed 60 documents \({re.escape(size)}\) in {re.escape(akte)} in "
                     r"[0-9.]+ s", summary), summary
    assert "vermerk-" not in summary and len(summary.splitlines()) == 1
    listed = ok("add", akte, str(folder), "--list").stdout
    assert all(f"vermerk-{i:03d}.txt" in listed for i in range(60))
    as_json = json.loads(ok("add", akte, str(folder), "--json").stdout)
    assert len(as_json) == 60


def test_few_documents_are_listed(ok, akte, tmp_path) -> None:
    out = ok("add", akte, str(_many(tmp_path, 3))).stdout
    assert "Filed 3 document(s)" in out and "vermerk-002.txt" in out


def test_progress_shows_filing_and_indexing(ok, akte, tmp_path) -> None:
    folder = _many(tmp_path, 5)
    result = ok("add", akte, str(folder), env={"TTY_COMPATIBLE": "1"})  # a terminal
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)
    assert re.search(r"filing\s+━+\s+5/5", shown), shown
    # the indexing after the commit reports its progress into the same display
    assert re.search(r"indexing\s+━+\s+5/5", shown), shown


def test_a_name_that_is_not_utf8_is_filed_with_a_readable_source_path(ok, akte, tmp_path
                                                                      ) -> None:
    folder = tmp_path / "alt"
    (folder / "ablage").mkdir(parents=True)
    (folder / "ablage" / os.fsdecode(b"stra\xdfe.txt")).write_bytes(b"Latin-1-Name\n")
    docs = json.loads(ok("add", akte, str(folder), "--json").stdout)
    assert docs[0]["source_path"] == "ablage/stra\ufffde.txt"
