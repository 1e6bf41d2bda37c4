"""Encrypted stores end to end: no plaintext on disk, dedup, shredding, rotation, keys, tools."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select

import eakte
from eakte import IntegrityError, InvalidInput, MasterKeyError, StateConflict
from eakte.crypto.aead import DecryptingReader, unseal
from eakte.crypto.keyring import blob_context
from eakte.crypto.masterkey import generate_master_key_file
from eakte.crypto.rotation import rotate_master_key
from eakte.crypto.settings import encryption_status
from eakte.demo.corpus import make_pdf
from eakte.model import AkteKey, BlobKey, EncryptedBlob
from eakte.repair import repair
from eakte.store import CONFIG_NAME

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

TEXTS = {
    "bescheid.txt": ("Sehr geehrte Frau Müller, hiermit erteilen wir die Baugenehmigung für das "
                     "Einfamilienhaus in der Lindenstraße 4, Flurstück 117/3, Gemarkung "
                     "Oberwiesenfeld. Die Auflagen der Unteren Naturschutzbehörde sind zu "
                     "beachten. ") * 40,
    "vermerk.txt": ("Aktenvermerk über die Ortsbesichtigung am 14. Februar: Der Grenzabstand "
                    "zum Nachbargrundstück Kastanienweg 9 beträgt nur 2,40 Meter. "
                    "Rücksprache mit Herrn Schäfer vom Bauordnungsamt erforderlich. ") * 3000,
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EAKTE_MASTER_KEY_FILE", raising=False)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    (tmp_path / "keys").mkdir()
    return generate_master_key_file(tmp_path / "keys" / "master.key").path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url: str | None, store_factory, tmp_path: Path, key: Path,
          clock: Clock) -> eakte.Store:
    store = store_factory.init(tmp_path / "store", db_url=db_url, encrypt=True,
                               master_key=key, clock=clock)
    with store.session() as s:
        s.add_plan_unit("630", "Bauordnung", retention_years=0, disposal="V")
        s.add_plan_unit("631", "Baugenehmigungen", retention_years=30, disposal="A")
    return store


def _pdf() -> bytes:
    return make_pdf("Baugenehmigung Lindenstraße 4",
                    ["Die Baugenehmigung wird unter Auflagen erteilt.",
                     "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines "
                     "Monats Widerspruch erhoben werden."])


def _windows(data: bytes, size: int = 24) -> list[bytes]:
    """Substrings spread over ``data``: every 11th byte, at most about 1,500 of them."""
    if len(data) <= size:
        return [data]
    step = max(11, len(data) // 1500)
    return [data[i:i + size] for i in range(0, len(data) - size, step)]


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _wrappings(store: eakte.Store, sha: str) -> list[int]:
    with store.read_connection() as conn:
        return sorted(conn.scalars(select(BlobKey.akte_id).where(BlobKey.sha256 == sha)))


# -- nothing readable on disk ------------------------------------------------------------


class _Spy(io.RawIOBase):
    """A source that, half-way through, looks at every file in the blob folder."""

    def __init__(self, data: bytes, root: Path, seen: list[bytes]) -> None:
        self._stream = io.BytesIO(data)
        self._root = root
        self._seen = seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = self._stream.readinto(buffer)
        if self._stream.tell() > 2 * 65536:  # the temp file holds segments by now
            self._seen.extend(p.read_bytes() for p in _all_files(self._root))
        return n


def test_no_plaintext_in_the_blob_folder(store: eakte.Store) -> None:
    root = store.blobs.root
    plaintexts = {name: text.encode() for name, text in TEXTS.items()}
    plaintexts["genehmigung.pdf"] = _pdf()
    plaintexts["grosser-scan.txt"] = ("Seite mit Aktenzeichen 630-0001/2026 " * 20_000).encode()
    during: list[bytes] = []
    with store.session() as s:
        akte = s.create_akte("631", "Neubau Lindenstraße 4")
        for name, data in plaintexts.items():
            s.file_document(akte, data, filename=name)
        s.file_document(akte, io.BufferedReader(_Spy(b"Live: " + TEXTS["vermerk.txt"].encode(),
                                                      root, during)),
                        filename="live.txt")
        docs = s.documents(akte)
    assert during, "the spy saw no file while the content was being written"
    on_disk = [p.read_bytes() for p in _all_files(root)] + during
    assert len(on_disk) >= 5
    for data in plaintexts.values():
        for window in _windows(data):
            assert not any(window in blob for blob in on_disk), window
    for word in ("Müller", "Lindenstraße", "Baugenehmigung", "Ortsbesichtigung",
                 "Rechtsbehelfsbelehrung", "%PDF"):
        assert not any(word.encode() in blob for blob in on_disk), word
    assert all(blob.startswith(b"EAKTEENC") for blob in on_disk if blob)
    with store.session() as s:
        by_name = {s.get_version(d).filename: s.read_content(d) for d in docs}
        assert {k: by_name[k] for k in plaintexts} == plaintexts
        assert s.search("Ortsbesichtigung").total == 2
        assert s.search("Rechtsbehelfsbelehrung").total == 1
    report = store.verify()
    assert report.ok and report.problems == [], report.problems


def test_versions_and_renditions_in_one_session(store: eakte.Store) -> None:
    with store.session() as s:
        akte = s.create_akte("631", "Umbau")
        doc = s.file_document(akte, b"Entwurf", filename="entwurf.txt")
        version = s.add_version(doc, b"Endfassung", filename="final.txt")
        s.add_rendition(version, _pdf(), kind="pdfa", filename="final.pdf")
        assert s.read_content(doc, version=1) == b"Entwurf"  # before the commit
        assert s.read_content(doc, rendition="pdfa") == _pdf()
    with store.session() as s:
        doc = s.get_document(doc.id)
        assert s.read_content(doc, version=2) == b"Endfassung"
        assert s.read_content(doc, version=2, rendition="pdfa") == _pdf()
    with store.read_connection() as conn:
        assert conn.execute(select(func.count()).select_from(BlobKey)).scalar() == 3
        assert conn.execute(select(func.count()).select_from(AkteKey)).scalar() == 1


# -- dedup and crypto-shredding ----------------------------------------------------------


def test_shared_blob_has_one_file_and_one_key_per_akte(store: eakte.Store) -> None:
    shared = TEXTS["bescheid.txt"].encode()
    with store.session() as s:
        first = s.create_akte("631", "Erste")
        second = s.create_akte("631", "Zweite")
        s.file_document(first, shared, filename="a.txt")
        s.file_document(second, shared, filename="b.txt")
        s.file_document(first, shared, filename="nochmal.txt")
    sha = hashlib.sha256(shared).hexdigest()
    assert list(store.blobs) == [sha]
    assert _wrappings(store, sha) == sorted([first.id, second.id])
    with store.read_connection() as conn:
        assert conn.execute(select(func.count()).select_from(EncryptedBlob)).scalar() == 1
    status = encryption_status(store)
    assert (sum(status.akte_keys.values()), status.blob_keys, status.encrypted_blobs) == (2, 2, 1)


def test_destroy_shreds_the_akte_key(store: eakte.Store, clock: Clock, tmp_path: Path) -> None:
    shared, own = b"Gemeinsames Musterschreiben", b"Nur in der vernichteten Akte: Gutachten"
    with store.session() as s:
        doomed = s.create_akte("630", "Abbruch Scheune")
        survivor = s.create_akte("631", "Neubau")
        s.file_document(doomed, shared, filename="muster.txt")
        s.file_document(doomed, own, filename="gutachten.txt")
        s.file_document(survivor, shared, filename="muster.txt")
        s.close_akte(doomed)
    shared_sha, own_sha = (hashlib.sha256(d).hexdigest() for d in (shared, own))
    backup = tmp_path / "backup"
    shutil.copytree(store.blobs.root, backup)
    with store.read_connection() as conn:
        (old_wrapping,) = conn.execute(select(BlobKey.wrapped_dek).where(
            BlobKey.sha256 == own_sha)).scalars().all()
    clock.now += timedelta(days=2)
    with store.session() as s:
        s.appraise_by_default(doomed)
        s.destroy(doomed)
    assert _wrappings(store, shared_sha) == [survivor.id]
    assert _wrappings(store, own_sha) == []
    with store.read_connection() as conn:
        assert conn.execute(select(AkteKey.akte_id)).scalars().all() == [survivor.id]
        remaining = conn.execute(select(BlobKey.akte_id, BlobKey.sha256, BlobKey.wrapped_dek)
                                 ).all()
    with store.session() as s:
        record = [e for e in s.audit_events() if e.action == "disposal.deleted"][-1]
        assert record.details["akte_key_shredded"] is True
        assert record.details["blob_keys_shredded"] == 2
        assert s.read_content(s.documents(survivor)[0]) == shared
    assert not store.blobs.exists(own_sha)
    # a backup copy of the destroyed Akte's blob cannot be decrypted any more
    copy = backup / own_sha[:2] / own_sha[2:]
    target = store.blobs.path_for(own_sha)
    target.parent.mkdir(exist_ok=True)
    shutil.copy(copy, target)
    with pytest.raises(IntegrityError, match="no Akte holds a key"):
        store.blobs.open(own_sha)
    ring = store.blobs.keyring
    for akte_id, sha, wrapped in remaining:
        kek = ring.unwrap_akte_key(akte_id, ring.master.key_id, _akte_row(store, akte_id))
        dek = unseal(kek, wrapped, blob_context(sha, akte_id))
        assert dek is not None
        with pytest.raises(IntegrityError), DecryptingReader(copy.open("rb"), dek,
                                                             own_sha) as reader:
            reader.read()
    assert old_wrapping  # the old wrapping existed, and is gone with the Akte key
    report = store.verify()
    assert report.ok, report.errors
    target.unlink()
    assert store.verify().problems == []


def _akte_row(store: eakte.Store, akte_id: int) -> bytes:
    with store.read_connection() as conn:
        return bytes(conn.execute(select(AkteKey.wrapped).where(AkteKey.akte_id == akte_id))
                     .scalar_one())


# -- master keys -------------------------------------------------------------------------


def test_rotation_makes_the_old_key_unnecessary(store: eakte.Store, store_factory,
                                                key: Path, tmp_path: Path) -> None:
    with store.session() as s:
        for title in ("Eins", "Zwei", "Drei"):
            akte = s.create_akte("631", title)
            s.file_document(akte, f"Inhalt der Akte {title}".encode(), filename="x.txt")
    new = generate_master_key_file(tmp_path / "keys" / "master-2027.key")
    old_id = store.blobs.keyring.master.key_id
    report = rotate_master_key(store, new.path)
    assert (report.old_key_id, report.new_key_id, report.akte_keys) == (old_id, new.key_id, 3)
    assert report.config_updated
    with store.session() as s:  # the same Store goes on with the new key
        akte = s.create_akte("631", "Vier")
        s.file_document(akte, b"nach der Rotation", filename="y.txt")
        rotated = [e for e in s.audit_events() if e.action == "keys.rotate"]
        assert rotated[0].details["new_master_key_id"] == new.key_id
    store.close()
    shutil.copy(key, tmp_path / "old.key")
    key.unlink()  # the old key is gone
    location = tmp_path / "store"
    config = json.loads((location / CONFIG_NAME).read_text())
    assert config["encryption"]["master_key_file"] == str(new.path.absolute())
    reopened = store_factory.open(location, db_url=store.db_url)
    with reopened.session() as s:
        contents = [s.read_content(d) for a in s.list_akten() for d in s.documents(a)]
    assert sorted(contents) == sorted([b"Inhalt der Akte Eins", b"Inhalt der Akte Zwei",
                                       b"Inhalt der Akte Drei", b"nach der Rotation"])
    assert reopened.verify().ok
    status = encryption_status(reopened)
    assert status.master_key_id == new.key_id and status.akte_keys == {new.key_id: 4}
    with pytest.raises(MasterKeyError, match="wrong master key"):
        store_factory.open(location, db_url=store.db_url, master_key=tmp_path / "old.key")
    with pytest.raises(InvalidInput, match="current one"):
        rotate_master_key(reopened, new.path)


def test_missing_or_wrong_key_is_refused(store: eakte.Store, store_factory, key: Path,
                                         tmp_path: Path) -> None:
    location = tmp_path / "store"
    store.close()
    other = generate_master_key_file(tmp_path / "other.key")
    with pytest.raises(MasterKeyError, match="wrong master key"):
        store_factory.open(location, db_url=store.db_url, master_key=other.path)
    moved = tmp_path / "moved.key"
    key.rename(moved)
    with pytest.raises(MasterKeyError, match="cannot read the master key file"):
        store_factory.open(location, db_url=store.db_url)
    os.environ["EAKTE_MASTER_KEY_FILE"] = str(moved)  # the environment names it
    try:
        store_factory.open(location, db_url=store.db_url).close()
    finally:
        del os.environ["EAKTE_MASTER_KEY_FILE"]
    # the configuration edited to look unencrypted: the database still knows
    config = json.loads((location / CONFIG_NAME).read_text())
    del config["encryption"]
    (location / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(MasterKeyError, match="opened without its master key"):
        store_factory.open(location, db_url=store.db_url)


def test_plain_store_refuses_a_master_key(store_factory, tmp_path: Path, key: Path) -> None:
    plain = store_factory.init(tmp_path / "plain", search="none")
    plain.close()
    with pytest.raises(InvalidInput, match="not encrypted"):
        store_factory.open(tmp_path / "plain", master_key=key)
    with pytest.raises(MasterKeyError, match="needs a master key"):
        store_factory.init(tmp_path / "nokey", encrypt=True)
    assert not (tmp_path / "nokey" / CONFIG_NAME).exists()


def test_rotation_elsewhere_stops_writers_with_the_old_key(store: eakte.Store, store_factory,
                                                           tmp_path: Path, key: Path) -> None:
    second = store_factory.open(tmp_path / "store", db_url=store.db_url)
    rotate_master_key(second, generate_master_key_file(tmp_path / "new.key").path)
    with pytest.raises(MasterKeyError, match="rotated"), store.session() as s:
        akte = s.create_akte("631", "Neu")
        s.file_document(akte, b"mit altem Schluessel", filename="x.txt")
    with second.session() as s:
        assert s.list_akten() == []


# -- verify and repair -------------------------------------------------------------------


def test_tampering_is_refused_and_located(store: eakte.Store) -> None:
    data = TEXTS["vermerk.txt"].encode()
    with store.session() as s:
        akte = s.create_akte("631", "Neubau")
        doc = s.file_document(akte, data, filename="vermerk.txt")
    sha = hashlib.sha256(data).hexdigest()
    path = store.blobs.path_for(sha)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    path.chmod(0o644)
    path.write_bytes(bytes(raw))
    with store.session() as s, pytest.raises(IntegrityError, match="segment"):
        s.read_content(s.get_document(doc.id))
    report = store.verify()
    [problem] = report.errors
    assert (problem.kind, problem.subject) == ("blob.corrupt", f"blob {sha}")
    assert f"document {doc.id} version 1 (Akte {akte.aktenzeichen})" in problem.message
    assert repair(store).refused


def test_crash_leftovers_are_notices_and_repair_collects_them(store: eakte.Store) -> None:
    with store.session() as s:
        akte = s.create_akte("631", "Neubau")
        s.file_document(akte, b"bleibt", filename="a.txt")
    # a crash between link and commit: the file is there, its key never committed
    orm = store.orm_session()
    orm.begin()
    lost = store.session_blobs(orm).put(io.BytesIO(b"nie committet"))
    orm.rollback()
    orm.close()
    # a put outside any session: a committed key, but no version uses it
    stray = store.blobs.for_akte(akte.id).put(io.BytesIO(b"ohne Version"))
    report = store.verify()
    assert report.ok, report.errors
    assert {(p.kind, p.subject) for p in report.notices} == {
        ("blob.orphan", f"blob {lost.sha256}"), ("blob.orphan", f"blob {stray.sha256}"),
        ("keys.orphan", f"blob {stray.sha256}")}
    result = repair(store, grace_seconds=0)
    assert sorted(result.orphans_removed) == sorted([lost.sha256, stray.sha256])
    assert result.keys.wrappings == 1
    assert store.verify().problems == []
    assert _wrappings(store, stray.sha256) == []


def test_crash_after_the_key_commit_before_the_link(store: eakte.Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside sessions keys commit first: a crash then leaves an orphan key and a temp file."""
    from eakte.crypto.blobstore import EncryptedBlobStore

    with store.session() as s:
        akte = s.create_akte("631", "Neubau")

    def crash(*args: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(EncryptedBlobStore, "_place", crash)
    with pytest.raises(KeyboardInterrupt):
        store.blobs.for_akte(akte.id).put(io.BytesIO(b"abgestuerzt"))
    monkeypatch.undo()
    sha = hashlib.sha256(b"abgestuerzt").hexdigest()
    assert _wrappings(store, sha) == [akte.id] and not store.blobs.exists(sha)
    report = store.verify()
    assert report.ok and [p.kind for p in report.notices] == ["keys.orphan"]
    # writing the content again uses the committed key
    again = store.blobs.for_akte(akte.id).put(io.BytesIO(b"abgestuerzt"))
    assert again.created
    with store.blobs.open(sha) as fh:
        assert fh.read() == b"abgestuerzt"
    result = repair(store, grace_seconds=0)
    assert result.temp_removed == 1 and result.keys.wrappings == 1
    assert result.orphans_removed == [sha]
    assert store.verify().problems == []


def test_removed_or_damaged_key_rows_are_errors(store: eakte.Store) -> None:
    shared = b"geteilt"
    with store.session() as s:
        first = s.create_akte("631", "Eins")
        second = s.create_akte("631", "Zwei")
        s.file_document(first, shared, filename="a.txt")
        s.file_document(second, shared, filename="a.txt")
        s.file_document(second, b"allein", filename="b.txt")
    sha, alone = hashlib.sha256(shared).hexdigest(), hashlib.sha256(b"allein").hexdigest()
    with store.engine.begin() as conn:
        conn.execute(delete(BlobKey).where(BlobKey.sha256 == sha, BlobKey.akte_id == first.id))
        conn.execute(delete(BlobKey).where(BlobKey.sha256 == alone))
    kinds = {(p.kind, p.subject) for p in store.verify().errors}
    assert kinds == {("keys.wrapping_missing", f"blob {sha}"),
                     ("keys.wrapping_missing", f"blob {alone}"),
                     ("blob.key_missing", f"blob {alone}")}
    with store.engine.begin() as conn:
        wrapped = conn.execute(select(BlobKey.wrapped_dek).where(
            BlobKey.sha256 == sha)).scalar_one()
        conn.execute(insert(BlobKey).values(sha256=sha, akte_id=first.id, wrapped_dek=wrapped,
                                            created_at=T0))  # another Akte's wrapping
    assert ("keys.blob_key_damaged", f"blob {sha}") in {
        (p.kind, p.subject) for p in store.verify().errors}


# -- exports, imports and the demo -------------------------------------------------------


def test_bagit_export_from_an_encrypted_store(store: eakte.Store, tmp_path: Path) -> None:
    import bagit

    from eakte.exchange.bagit import export_bagit

    data = {"bescheid.txt": TEXTS["bescheid.txt"].encode(), "genehmigung.pdf": _pdf()}
    with store.session() as s:
        akte = s.create_akte("631", "Neubau")
        for name, content in data.items():
            s.file_document(akte, content, filename=name)
    with store.session() as s:
        out = export_bagit(s, [akte.aktenzeichen], tmp_path / "bag")
    bagit.Bag(str(out)).validate()
    payload = {p.read_bytes() for p in (out / "data").rglob("*") if p.is_file()
               and p.name != "metadata.json"}
    assert set(data.values()) <= payload


def test_xdomea_export_and_import_between_encrypted_stores(
        store: eakte.Store, store_factory, db_url: str | None, request: pytest.FixtureRequest,
        tmp_path: Path, key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from eakte.exchange.xdomea import export_xdomea, import_xdomea

    monkeypatch.delenv("EAKTE_XDOMEA_SCHEMAS", raising=False)
    with store.session() as s:
        akte = s.create_akte("631", "Neubau")
        doc = s.file_document(akte, TEXTS["bescheid.txt"].encode(), filename="bescheid.txt")
        s.add_rendition(s.get_version(doc), _pdf(), kind="pdfa", filename="bescheid.pdf")
    with store.session() as s:
        message = export_xdomea(s, [akte], message="0503", out_dir=tmp_path / "out",
                                record=False)
    url = None if db_url is None else request.getfixturevalue("pg_url_factory")()
    target = store_factory.init(tmp_path / "archive", db_url=url, encrypt=True,
                                master_key=generate_master_key_file(tmp_path / "b.key"),
                                search="none")
    with target.session() as s:
        result = import_xdomea(s, message.path)
    assert len(result.akten) == 1
    with target.session() as s:
        (imported,) = s.list_akten()
        (copy,) = s.documents(imported)
        assert s.read_content(copy) == TEXTS["bescheid.txt"].encode()
        assert s.read_content(copy, rendition="pdfa") == _pdf()
    assert target.verify().ok
    assert all(p.read_bytes().startswith(b"EAKTEENC") for p in _all_files(target.blobs.root))


def test_demo_runs_encrypted(tmp_path: Path, key: Path) -> None:
    from eakte.demo.run import run_demo

    result = run_demo(tmp_path / "demo", akten=2, master_key=key)
    assert result.verify_ok
    assert json.loads((tmp_path / "demo" / CONFIG_NAME).read_text())["encryption"]


# -- concurrency (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_writers_of_the_same_content_agree_on_one_key(
        pg_url: str, store_factory, tmp_path: Path, key: Path) -> None:
    store = store_factory.init(tmp_path / "pg", db_url=pg_url, encrypt=True, master_key=key,
                               search="none")
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        first, second = s.create_akte("1", "A"), s.create_akte("1", "B")
    content = b"gleichzeitig abgelegt" * 1000
    started, errors = threading.Event(), []

    def other() -> None:
        try:
            with store.session() as s2:
                started.set()
                s2.file_document(s2.get_akte(second.id), content, filename="b.txt")
        except Exception as exc:  # reported below
            errors.append(exc)

    with store.session() as s:
        s.file_document(s.get_akte(first.id), content, filename="a.txt")
        thread = threading.Thread(target=other)
        thread.start()
        started.wait(10)
        thread.join(0.5)
        assert thread.is_alive()  # waits for this session's reservation of the key
    thread.join(30)
    assert not errors, errors
    sha = hashlib.sha256(content).hexdigest()
    assert _wrappings(store, sha) == sorted([first.id, second.id])
    with store.session() as s:
        for akte_id in (first.id, second.id):
            assert s.read_content(s.documents(s.get_akte(akte_id))[0]) == content
    assert store.verify().problems == []


# -- the command line --------------------------------------------------------------------


def test_cli_init_encrypt_rotate_and_missing_key(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eakte.cli import cli

    runner = CliRunner()
    where = ["--store", str(tmp_path / "akten")]
    key, new = tmp_path / "k1.key", tmp_path / "k2.key"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, [*where, *args])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    run("keys", "generate", str(key))
    run("keys", "generate", str(new))
    run("init", "--encrypt", "--master-key", str(key))
    run("plan", "add", "630", "Bauordnung")
    az = json.loads(run("akte", "create", "630", "Neubau", "--json"))["aktenzeichen"]
    (tmp_path / "antrag.txt").write_text("Antrag auf Baugenehmigung, Familie Müller")
    run("add", az, str(tmp_path / "antrag.txt"))
    status = json.loads(run("keys", "status", "--json"))
    assert status["encrypted"] and sum(status["akte_keys"].values()) == 1
    run("keys", "rotate", "--new-key", str(new))
    key.unlink()
    run("get", "1", "-o", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "Antrag auf Baugenehmigung, Familie Müller"
    run("verify")
    new.rename(tmp_path / "elsewhere.key")
    output = run("akte", "list", code=12)
    assert "master key" in output
    with pytest.raises(StateConflict):
        generate_master_key_file(tmp_path / "elsewhere.key")


def test_store_opened_by_url_with_an_encrypted_blob_store(tmp_path: Path, key: Path,
                                                          store_factory) -> None:
    from eakte.crypto.blobstore import EncryptedBlobStore

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    blobs = EncryptedBlobStore(tmp_path / "blobs", master_key=key)
    store = store_factory.open(url, blobs=blobs, search="none")
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        doc = s.file_document(s.create_akte("1", "A"), b"per URL", filename="a.txt")
    store.close()
    with pytest.raises(MasterKeyError, match="opened without its master key"):
        store_factory.open(url, blobs=eakte.LocalBlobStore(tmp_path / "blobs"), create=False)
    again = store_factory.open(url, blobs=EncryptedBlobStore(tmp_path / "blobs", master_key=key),
                               create=False, search="none")
    with again.session() as s:
        assert s.read_content(s.get_document(doc.id)) == b"per URL"
