"""Walking a folder for filing: hidden entries and symbolic links, containment, safe opening."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import eakte
from eakte.ingest.folder import FolderFile, open_in_folder, scan_folder
from eakte.ingest.source import open_source


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"root:x:0:0\n")
    root = tmp_path / "akte"
    (root / "plaene" / "eg").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "antrag.txt").write_bytes(b"Antrag\n")
    (root / "plaene" / "eg" / "grundriss.txt").write_bytes(b"Grundriss\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / ".git" / "config").write_bytes(b"[core]\n")
    (root / "passwd").symlink_to(outside / "passwd")
    (root / "kopie.txt").symlink_to("antrag.txt")
    (root / "extern").symlink_to(outside, target_is_directory=True)
    (root / "plaene" / "zurueck").symlink_to("..", target_is_directory=True)
    (root / "plaene" / "kaputt.txt").symlink_to("gibt-es-nicht")
    return root


def test_default_skips_hidden_entries_and_every_link(tree: Path) -> None:
    scan = scan_folder(tree)
    assert [f.relative for f in scan.files] == ["antrag.txt", "plaene/eg/grundriss.txt"]
    assert {str(s) for s in scan.skipped} == {
        ".DS_Store (hidden)", ".git (hidden)", "extern (symlink)", "kopie.txt (symlink)",
        "passwd (symlink)", "plaene/kaputt.txt (symlink)", "plaene/zurueck (symlink)"}
    assert scan.summary().startswith("skipped 7: .DS_Store (hidden), .git (hidden), ")


def test_following_links_stays_inside_the_folder_and_walks_each_folder_once(tree: Path
                                                                              ) -> None:
    scan = scan_folder(tree, follow_symlinks=True)
    assert [f.relative for f in scan.files] == [
        "antrag.txt", "kopie.txt", "plaene/eg/grundriss.txt"]
    reasons = {s.relative: s.reason for s in scan.skipped}
    assert reasons["passwd"] == "symlink outside the folder"
    assert reasons["extern"] == "symlink outside the folder"
    assert reasons["plaene/zurueck"] == "folder already walked"  # the loop back up
    assert reasons["plaene/kaputt.txt"] == "broken symlink"
    with open_in_folder(tree, "kopie.txt", follow_symlinks=True) as fh:
        assert fh.read() == b"Antrag\n"
    with pytest.raises(eakte.UnsafeContent, match="outside the folder"):
        open_in_folder(tree, "passwd", follow_symlinks=True)


def test_special_files_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "a.txt").write_bytes(b"a")
    scan = scan_folder(tmp_path)
    assert [f.relative for f in scan.files] == ["a.txt"]
    assert [str(s) for s in scan.skipped] == ["pipe (not a regular file)"]


def test_a_file_replaced_by_a_link_after_listing_is_not_opened(tree: Path) -> None:
    found = {f.relative: f for f in scan_folder(tree).files}
    victim = tree / "antrag.txt"
    victim.unlink()
    victim.symlink_to(tree.parent / "outside" / "passwd")
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        found["antrag.txt"].open()
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        open_source(found["antrag.txt"])


def test_a_folder_replaced_by_a_link_after_listing_is_not_entered(tree: Path) -> None:
    found = {f.relative: f for f in scan_folder(tree).files}
    elsewhere = tree.parent / "elsewhere" / "eg"
    elsewhere.mkdir(parents=True)
    (elsewhere / "grundriss.txt").write_bytes(b"fremd\n")
    os.rename(tree / "plaene", tree.parent / "plaene-alt")
    (tree / "plaene").symlink_to(elsewhere.parent, target_is_directory=True)
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        found["plaene/eg/grundriss.txt"].open()


def test_a_file_replaced_by_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    (found,) = scan_folder(tmp_path).files
    (tmp_path / "a.txt").unlink()
    os.mkfifo(tmp_path / "a.txt")
    with pytest.raises(eakte.InvalidInput, match="not a regular file"):
        found.open()


def test_paths_that_leave_the_folder_are_refused(tree: Path) -> None:
    for bad in ("../outside/passwd", "", "plaene/../antrag.txt", "/etc/passwd"):
        with pytest.raises(eakte.InvalidInput):
            open_in_folder(tree, bad)


def test_folder_file_is_a_path(tree: Path) -> None:
    found = FolderFile(tree, "plaene/eg/grundriss.txt")
    assert os.fspath(found) == str(tree / "plaene" / "eg" / "grundriss.txt")
    assert found.name == "grundriss.txt"
    with open_source(found) as src:
        assert src.filename == "grundriss.txt" and src.size == len(b"Grundriss\n")


def test_summary_names_ten_and_counts_the_rest(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f".versteckt-{i:02d}").write_bytes(b"x")
    summary = scan_folder(tmp_path).summary()
    assert summary.startswith("skipped 12: .versteckt-00 (hidden), ")
    assert summary.endswith(".versteckt-09 (hidden) and 2 more")
