"""The OZG adapter: submissions (folder or zip) become Vorgänge; hostile zips are refused."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from eakte_ozg import OzgAdapter, read_submission, render_form

import eakte
from eakte.adapter import ExtractLimits, FieldMapping, Filer, open_in_folder, run_once
from eakte.testing.adapter import CONTRACT_USER, AdapterContract

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

MAPPING = {
    "system": "ozg-bauportal",
    "required_fields": ["form.vorhaben.adresse"],
    "akte": {
        "key": "{form.vorhaben.flurstueck}",
        "plan_unit": {"field": "service.id", "map": {"99010001": "630.10",
                                                      "99010002": "630.20"}},
        "title": "Bauvorhaben {form.vorhaben.adresse}",
    },
    "vorgang": {"title": "{service.name} vom {submitted_at}",
                "metadata": {"antragsteller": "{applicant.name}"}},
}


def submission(sid: str = "OZG-2026-0001", service_id: str = "99010001", **extra) -> dict:
    return {
        "format": "eakte-ozg-submission/1",
        "submission_id": sid,
        "service": {"id": service_id, "name": "Bauantrag online"},
        "submitted_at": "2026-03-02T10:15:00+01:00",
        "applicant": {"name": "Anna Müller", "email": "anna@example.org"},
        "form": {"vorhaben": {"adresse": "Lindenstraße 4", "flurstueck": "Flur 3, 112/4",
                              "art": "Neubau Einfamilienhaus"},
                 "geschosse": 2, "keller": True},
        "attachments": [{"file": "anlagen/lageplan.pdf", "title": "Lageplan",
                         "sha256": hashlib.sha256(PDF).hexdigest()}],
        **extra,
    }


def as_folder(root: Path, data: dict, files: dict[str, bytes] | None = None) -> Path:
    folder = root / data["submission_id"]
    (folder / "anlagen").mkdir(parents=True)
    (folder / "submission.json").write_text(json.dumps(data), encoding="utf-8")
    default = {"anlagen/lageplan.pdf": PDF}
    for name, content in (files if files is not None else default).items():
        (folder / name).write_bytes(content)
    return folder


def as_zip(path: Path, data: dict, files: dict[str, bytes] | None = None) -> Path:
    default = {"anlagen/lageplan.pdf": PDF}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("submission.json", json.dumps(data))
        for name, content in (files if files is not None else default).items():
            zf.writestr(name, content)
    return path


@pytest.fixture
def store(tmp_path: Path):
    store = eakte.init(tmp_path / "store")
    with store.session() as s:
        s.add_plan_unit("630", "Bauordnung")
        s.add_plan_unit("630.10", "Baugenehmigungen", parent="630")
        s.add_plan_unit("630.20", "Bauvoranfragen", parent="630")
        s.add_user(CONTRACT_USER)
    with store.session() as s:
        s.grant(CONTRACT_USER, "editor", "630")
        s.grant(CONTRACT_USER, "owner", "system:ozg-bauportal")  # the mapping's system
    yield store
    store.close()


def documents_in(store) -> int:
    with store.session() as s:
        return sum(len(s.documents(a)) for a in s.list_akten())


class TestOzgContract(AdapterContract):
    entry_point = "ozg"

    @pytest.fixture
    def adapter(self, tmp_path: Path, adapter_store):
        inbox = tmp_path / "ozg-in"
        inbox.mkdir()
        as_folder(inbox, submission("OZG-1"))
        as_zip(inbox / "OZG-2.zip", submission("OZG-2", service_id="99010002"))
        return OzgAdapter(source=[inbox], mapping=FieldMapping(MAPPING))


def test_folder_submission_becomes_a_vorgang(store, tmp_path: Path) -> None:
    folder = as_folder(tmp_path, submission(extra_field="bleibt"))
    report = run_once(OzgAdapter(source=[folder], mapping=FieldMapping(MAPPING)), store,
                      user=CONTRACT_USER)
    assert report.ok and report.counts == {"created": 1}
    result = report.results[0]
    assert result.aktenzeichen.startswith("630.10-")
    assert [d.key.document_id for d in result.documents] == [
        "submission.json", "submission.txt", "attachment:anlagen/lageplan.pdf"]
    filer = Filer(store, "ozg-bauportal")
    vorgang = filer.get_vorgang("OZG-2026-0001")
    assert vorgang.title == "Bauantrag online vom 2026-03-02T10:15:00+01:00"
    assert vorgang.meta["antragsteller"] == "Anna Müller"
    assert vorgang.meta["fields"]["form"]["geschosse"] == 2  # form data as metadata
    assert vorgang.meta["ozg"] == {"extra_field": "bleibt"}  # unknown: kept
    text = filer.read(filer.key("OZG-2026-0001", "submission.txt")).decode()
    assert "Lindenstraße 4" in text and "Antragsteller:" in text
    original = filer.read(filer.key("OZG-2026-0001", "submission.json"))
    assert original == (folder / "submission.json").read_bytes()
    with store.session() as s:  # the text rendering is searchable
        assert s.search("Lindenstrasse Einfamilienhaus").total >= 1


def test_zip_submission_and_idempotent_rerun(store, tmp_path: Path) -> None:
    path = as_zip(tmp_path / "antrag.zip", submission())
    adapter = OzgAdapter(source=[path], mapping=FieldMapping(MAPPING))
    assert run_once(adapter, store).counts == {"created": 1}
    assert run_once(adapter, store).counts == {"unchanged": 1}
    assert documents_in(store) == 3


def test_second_submission_for_the_same_plot_goes_to_the_same_akte(store,
                                                                   tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    as_folder(inbox, submission("OZG-A"))
    as_folder(inbox, submission("OZG-B"))
    report = run_once(OzgAdapter(source=[inbox], mapping=FieldMapping(MAPPING)), store)
    assert report.counts == {"created": 2}
    assert report.results[0].akte_id == report.results[1].akte_id
    assert report.results[0].vorgang_id != report.results[1].vorgang_id


def test_done_and_failed_folders(store, tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    as_zip(inbox / "good.zip", submission("OZG-GOOD"))
    as_zip(inbox / "bad.zip", submission("OZG-BAD", service_id="unbekannt"))
    adapter = OzgAdapter(source=[inbox], mapping=FieldMapping(MAPPING),
                         done=tmp_path / "done", failed=tmp_path / "failed")
    report = run_once(adapter, store)
    assert report.counts == {"created": 1, "failed": 1}
    assert "unbekannt" in str(report.failed[0].error)
    assert [p.name for p in (tmp_path / "done").iterdir()] == ["good.zip"]
    assert [p.name for p in (tmp_path / "failed").iterdir()] == ["bad.zip"]
    assert not list(inbox.iterdir())


def _hostile(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, content in members:
            zf.writestr(info, content)
    return path


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("case", ["traversal", "absolute", "symlink", "bomb", "missing",
                                  "bad-sha"])
def test_hostile_zip_is_refused_and_nothing_is_filed(store, tmp_path: Path,
                                                     case: str) -> None:
    data = submission()
    ok_json = json.dumps(data).encode()
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = {
        "traversal": [("submission.json", ok_json), ("../../etc/passwd", b"x")],
        "absolute": [("submission.json", ok_json), ("/etc/passwd", b"x")],
        "symlink": [("submission.json", ok_json), (_symlink("anlagen/lageplan.pdf"),
                                                   b"/etc/passwd")],
        "bomb": [("submission.json", ok_json), ("anlagen/lageplan.pdf", b"\0" * 3_000_000)],
        "missing": [("submission.json", ok_json)],
        "bad-sha": [("submission.json", ok_json), ("anlagen/lageplan.pdf", PDF + b" ")],
    }[case]
    path = _hostile(tmp_path / f"{case}.zip", members)
    limits = ExtractLimits(max_compression_ratio=50.0, ratio_floor_bytes=1024 * 1024)
    expected = eakte.UnsafeContent if case in ("traversal", "absolute", "symlink", "bomb") \
        else eakte.InvalidInput
    with pytest.raises(expected):
        read_submission(path, limits=limits)
    report = run_once(OzgAdapter(source=[path], mapping=FieldMapping(MAPPING),
                                 limits=limits), store)
    assert report.counts == {"failed": 1}
    assert isinstance(report.failed[0].error, expected)
    assert documents_in(store) == 0


def test_attachment_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    data = submission()
    data["attachments"][0]["file"] = "../geheim.pdf"
    folder = as_folder(tmp_path / "in", data)
    (tmp_path / "in" / "geheim.pdf").write_bytes(PDF)
    with pytest.raises(eakte.UnsafeContent, match="traversal"):
        read_submission(folder)


def test_symlinked_attachment_in_a_folder_is_refused(tmp_path: Path) -> None:
    folder = as_folder(tmp_path, submission(), files={})
    (tmp_path / "elsewhere.pdf").write_bytes(PDF)
    (folder / "anlagen" / "lageplan.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        read_submission(folder)


def test_invalid_submission_json_lists_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "submission.json").write_text(json.dumps({"form": []}))
    with pytest.raises(eakte.InvalidInput) as info:
        read_submission(folder)
    message = str(info.value)
    for name in ("submission_id", "service", "submitted_at", "form"):
        assert name in message


def test_render_form_is_readable() -> None:
    text = render_form(submission())
    assert "Online-Antrag: Bauantrag online (99010001)" in text
    assert "    adresse: Lindenstraße 4" in text
    assert "  - Lageplan (anlagen/lageplan.pdf)" in text


def _deep_submission(folder: Path, levels: int = 10_000) -> Path:
    folder.mkdir(parents=True)
    text = json.dumps(submission("OZG-DEEP")).replace('"keller": true',
                                                     '"keller": ' + "[" * levels + "]" * levels)
    (folder / "submission.json").write_text(text, encoding="utf-8")
    return folder


def test_deep_submission_fails_alone_and_the_next_is_filed(store, tmp_path: Path) -> None:
    inbox = tmp_path / "eingang"
    _deep_submission(inbox / "a-deep")
    as_folder(inbox, submission("OZG-2026-0002"))
    with zipfile.ZipFile(inbox / "b-deep.zip", "w") as zf:
        zf.writestr("submission.json", (inbox / "a-deep" / "submission.json").read_bytes())
    adapter = OzgAdapter(source=[inbox], mapping=FieldMapping(MAPPING),
                         done=tmp_path / "done", failed=tmp_path / "failed")
    report = run_once(adapter, store, user=CONTRACT_USER)
    assert report.counts == {"created": 1, "failed": 2}
    for failed in report.failed:
        assert isinstance(failed.error, eakte.UnsafeContent)
        assert "deeper than 64 levels" in str(failed.error)
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == ["a-deep", "b-deep.zip"]
    assert [p.name for p in (tmp_path / "done").iterdir()] == ["OZG-2026-0002"]


def test_attachment_swapped_for_a_symlink_is_not_read(tmp_path: Path) -> None:
    folder = as_folder(tmp_path, submission())
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(PDF)
    target = folder / "anlagen" / "lageplan.pdf"
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        read_submission(folder)
    # the opener the adapter reads with refuses the link even when asked directly
    with pytest.raises(eakte.UnsafeContent, match="symbolic link"):
        open_in_folder(folder, "anlagen/lageplan.pdf")
