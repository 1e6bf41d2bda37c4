"""Signed audit checkpoints: format, creation, verification, and an attacker with DB access."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from sqlalchemy import delete, insert, select, text

import eakte
from eakte.audit.checkpoint import Checkpoint, stored_checkpoints
from eakte.audit.merkle import (
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)
from eakte.audit.signing import (
    FileKeyProvider,
    generate_key_file,
    key_id,
    load_public_key,
    resolve_key_provider,
)
from eakte.cli import cli
from eakte.model import AuditCheckpoint, AuditEvent

# -- helpers -------------------------------------------------------------------------------


def ref_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 literally, as the reference for the streaming implementation."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


class MemoryKey:
    """A KeyProvider without a file, as an HSM adapter would be."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key())

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture
def key(tmp_path: Path) -> FileKeyProvider:
    (tmp_path / "keys").mkdir()
    return generate_key_file(tmp_path / "keys" / "checkpoint.pem")


def add_documents(store: eakte.Store, akte: eakte.Akte, n: int, tag: str = "") -> None:
    with store.session() as s:
        for i in range(n):
            s.file_document(akte, f"Vermerk {tag}{i}".encode(), filename=f"v{tag}{i}.txt")


def head_seq(store: eakte.Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one())


def drop_triggers(store: eakte.Store, table: str) -> None:
    """What an attacker with database access does first."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_update"))
            conn.execute(text(f"DROP TRIGGER eakte_{table}_no_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER eakte_{table}_immutable ON {table}"))


def rewrite_event(store: eakte.Store, seq: int, old: bytes, new: bytes, **columns: str) -> None:
    """Edit event ``seq`` and recompute every hash after it and the head, consistently."""
    drop_triggers(store, "audit_events")
    with store.engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"),
                            {"s": seq - 1}).scalar_one()
        rows = conn.execute(text("SELECT seq, canonical FROM audit_events WHERE seq >= :s "
                                 "ORDER BY seq"), {"s": seq}).all()
        for row_seq, canonical in rows:
            canonical = bytes(canonical)
            if row_seq == seq:
                assert old in canonical
                canonical = canonical.replace(old, new)
                sets = "".join(f", {c} = :{c}" for c in columns)
                conn.execute(text(f"UPDATE audit_events SET canonical = :c{sets} WHERE seq = :s"),
                             {"c": canonical, "s": row_seq, **columns})
            prev = hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
            conn.execute(text("UPDATE audit_events SET hash = :h WHERE seq = :s"),
                         {"h": prev, "s": row_seq})
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


def errors(report: eakte.VerifyReport) -> dict[str, list[eakte.Problem]]:
    found: dict[str, list[eakte.Problem]] = {}
    for p in report.errors:
        found.setdefault(p.kind, []).append(p)
    return found


@dataclass
class Logged:
    store: eakte.Store
    akte: eakte.Akte
    key: FileKeyProvider
    first: Checkpoint  # over the first events
    second: Checkpoint  # over more events


@pytest.fixture
def logged(store: eakte.Store, make_akte, key: FileKeyProvider) -> Logged:
    akte = make_akte(store)
    add_documents(store, akte, 2, "a")
    first = store.checkpoint(key=key)
    add_documents(store, akte, 3, "b")
    second = store.checkpoint(key=key)
    assert first is not None and second is not None
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeine Verwaltung")  # events after the newest checkpoint
    return Logged(store, akte, key, first, second)


# -- the Merkle tree -------------------------------------------------------------------


def test_merkle_root_is_rfc6962() -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]
    acc = MerkleAccumulator()
    assert acc.root() == ref_mth([])
    for n in range(1, 71):
        acc.add(leaves[n - 1])
        assert acc.root() == ref_mth(leaves[:n]) == merkle_root(leaves[:n]), n
        resumed = MerkleAccumulator(acc.size, acc.frontier)
        assert resumed.root() == acc.root()
        assert len(acc.frontier) == n.bit_count()
    with pytest.raises(ValueError):
        MerkleAccumulator(5, acc.frontier)


def test_inclusion_and_consistency_proofs() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(19)]
    for n in range(1, 20):
        root = merkle_root(leaves[:n])
        for i in range(n):
            proof = inclusion_proof(leaves[:n], i)
            assert verify_inclusion(leaves[i], i, n, proof, root)
            assert not verify_inclusion(leaves[(i + 1) % 19], i, n, proof, root)
        for m in range(1, n + 1):
            proof = consistency_proof(leaves[:n], m)
            old = merkle_root(leaves[:m])
            assert verify_consistency(m, n, old, root, proof), (m, n)
            if m < n:
                forged = merkle_root([leaves[0][::-1], *leaves[1:m]])
                assert not verify_consistency(m, n, forged, root, proof)
                assert not verify_consistency(m, n, old, root, proof[:-1])


# -- keys and the text format ----------------------------------------------------------


def test_keygen_writes_a_private_key_0600_and_never_overwrites(tmp_path: Path) -> None:
    provider = generate_key_file(tmp_path / "k.pem")
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    pub = load_public_key((tmp_path / "k.pem.pub").read_bytes())
    assert pub == provider.public_key() == load_public_key((tmp_path / "k.pem").read_bytes())
    assert load_public_key(base64.b64encode(pub).decode()) == pub
    assert provider.key_id == key_id(pub) and provider.key_id.startswith("ed25519:")
    with pytest.raises(eakte.StateConflict):
        generate_key_file(tmp_path / "k.pem")
    for bad in (b"", b"not a key", base64.b64encode(b"short"),
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"):
        with pytest.raises(eakte.InvalidInput):
            load_public_key(bad)


def test_key_file_must_hold_an_ed25519_key(tmp_path: Path) -> None:
    (tmp_path / "x.pem").write_text("hello")
    (tmp_path / "x.pem").chmod(0o600)
    with pytest.raises(eakte.InvalidInput):
        FileKeyProvider(tmp_path / "x.pem").public_key()
    with pytest.raises(eakte.StorageError):
        FileKeyProvider(tmp_path / "missing.pem").sign(b"x")
    shared = generate_key_file(tmp_path / "shared.pem")
    (tmp_path / "shared.pem").chmod(0o644)
    with pytest.warns(eakte.EakteWarning, match="chmod 600"):
        FileKeyProvider(shared.path).public_key()


def test_text_round_trip_and_strict_parsing(store: eakte.Store, key: FileKeyProvider) -> None:
    cp = store.checkpoint(key=key)
    assert cp is not None
    lines = cp.text.splitlines()
    assert lines[0] == "eakte-checkpoint v1" and len(lines) == 8
    assert [line.split(": ")[0] for line in lines[1:]] == [
        "store", "size", "head", "root", "time", "key", "sig"]
    assert cp.signed_bytes() == "".join(line + "\n" for line in lines[:7]).encode()
    assert Checkpoint.parse(cp.text) == cp
    assert Checkpoint.parse(cp.text.replace("\n", "\r\n").encode()) == cp
    assert Checkpoint.parse(cp.text.rstrip("\n")) == cp
    assert cp.signature_valid() and cp.signature_valid(key.public_key())
    assert cp.store_id == store.setting("store_id") and cp.size == 2
    for broken in (cp.text.replace("v1", "v2"), cp.text.replace("size: 2", "size: 02"),
                   cp.text.replace("head: ", "head:  "), cp.text + "extra: 1\n",
                   "\n".join(lines[:7]), cp.text.replace("sig: ", "sig: !")):
        with pytest.raises(eakte.InvalidInput):
            Checkpoint.parse(broken)


# -- creating checkpoints --------------------------------------------------------------


def test_create_and_verify_round_trip(logged: Logged) -> None:
    store, key = logged.store, logged.key
    first, second = logged.first, logged.second
    assert first.size < second.size < head_seq(store)
    assert [c.size for c in stored_checkpoints(store)] == [first.size, second.size]
    assert stored_checkpoints(store, newest=True) == [second]
    with store.session() as s:
        events = [e for e in s.audit_events() if e.action == "audit.checkpoint"]
    assert [e.details["size"] for e in events] == [first.size, second.size]
    assert events[1].details["root"] == second.root
    assert events[1].details["sig"] == base64.b64encode(second.signature).decode()
    assert events[0].seq == first.size + 1  # recorded right after the events it covers

    report = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("second.txt", second)])
    assert report.ok and report.problems == [], report.problems
    assert report.checkpoints == 3  # two stored, one external
    assert report.as_dict()["checkpoints"] == 3

    third = store.checkpoint(key=key)
    assert third is not None and third.size == head_seq(store) - 1
    assert store.checkpoint(key=key) is None  # nothing new but the checkpoint record
    with store.engine.connect() as conn:
        row = conn.execute(select(AuditCheckpoint).where(
            AuditCheckpoint.seq == third.size)).one()
    assert row.base_seq == second.size
    assert len(row.event_hashes) == 32 * (third.size - second.size)
    assert row.text == third.text and row.merkle_root == third.root


def test_root_covers_the_chain_hashes(logged: Logged) -> None:
    with logged.store.session() as s:
        hashes = [bytes.fromhex(e.hash) for e in s.audit_events()]
    for cp in (logged.first, logged.second):
        assert merkle_root(hashes[:cp.size]).hex() == cp.root
        assert hashes[cp.size - 1].hex() == cp.head
    proof = consistency_proof(hashes[:logged.second.size], logged.first.size)
    assert verify_consistency(logged.first.size, logged.second.size,
                              bytes.fromhex(logged.first.root),
                              bytes.fromhex(logged.second.root), proof)


def test_a_provider_object_and_the_environment(store_factory, db_url, tmp_path, monkeypatch):
    provider = MemoryKey()
    store = store_factory.init(tmp_path / "p", db_url=db_url, checkpoint_key=provider)
    assert store.checkpoint_key is provider
    cp = store.checkpoint()
    assert cp is not None and cp.public_key == provider.public_key()
    assert store.verify().ok and store.verify().problems == []  # pinned by the store's key
    with pytest.raises(eakte.InvalidInput, match="checkpoint key"):
        store_factory.init(tmp_path / "none", db_url=None).checkpoint()
    generate_key_file(tmp_path / "env.pem")
    monkeypatch.setenv("EAKTE_CHECKPOINT_KEY", str(tmp_path / "env.pem"))
    env_store = store_factory.init(tmp_path / "e", db_url=None)
    assert isinstance(env_store.checkpoint_key, FileKeyProvider)
    assert env_store.checkpoint() is not None
    with pytest.raises(TypeError):
        resolve_key_provider(42)  # type: ignore[arg-type]


def test_checkpoint_every(store_factory, db_url, tmp_path, key, make_akte):
    with pytest.raises(eakte.InvalidInput, match="checkpoint_every"):
        eakte.open(tmp_path / "nokey", checkpoint_every=10)
    store = store_factory.init(tmp_path / "auto", db_url=db_url, checkpoint_key=key,
                               checkpoint_every=6)
    akte = make_akte(store)
    for i in range(8):
        add_documents(store, akte, 1, f"x{i}")
    sizes = [c.size for c in stored_checkpoints(store)]
    assert sizes, "no automatic checkpoint was taken"
    gaps = [b - a for a, b in zip([0, *sizes], sizes, strict=False)]
    assert all(gap >= 6 for gap in gaps), sizes
    assert head_seq(store) - sizes[-1] <= 6 + 2  # never far behind
    assert store.verify(public_keys=[key.public_key()]).ok


def test_checkpoint_rows_are_immutable(logged: Logged) -> None:
    store = logged.store
    with store.orm_session() as orm:
        row = orm.get(AuditCheckpoint, logged.first.size)
        assert row is not None
        row.merkle_root = "0" * 64
        with pytest.raises(eakte.StateConflict):
            orm.flush()
    with pytest.raises(Exception, match="immutable"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))


# -- an attacker with database access ---------------------------------------------------


def test_rewritten_chain_passes_the_chain_check_but_not_the_checkpoints(logged: Logged):
    store, key = logged.store, logged.key
    target = logged.first.size + 2  # after the first checkpoint, before the second
    rewrite_event(store, target, b'"actor":"admin"', b'"actor":"nimda"', actor="nimda")

    report = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("first.txt", logged.first),
                                       ("second.txt", logged.second)])
    found = errors(report)
    # the chain is consistent in itself: the chain check alone would pass
    assert not [k for k in found if k.startswith("audit.")], found
    assert set(found) == {"checkpoint.prefix_mismatch"}, found
    subjects = {p.subject: p for p in found["checkpoint.prefix_mismatch"]}
    assert set(subjects) == {f"checkpoint {logged.second.size}",
                             f"checkpoint file second.txt ({logged.second.size} events)"}
    for problem in subjects.values():
        assert problem.data["first_bad_seq"] == target
        assert f"event {target} differs" in problem.message
    with pytest.raises(eakte.IntegrityError, match="does not extend"):
        store.checkpoint(key=key)

    # An attacker who also rewrites the stored hashes cannot hide the change either; the
    # event is then located between the newest matching checkpoint and the broken one.
    drop_triggers(store, "audit_checkpoints")
    with store.engine.begin() as conn:
        hashes = [bytes.fromhex(h) for (h,) in conn.execute(text(
            "SELECT hash FROM audit_events WHERE seq > :a AND seq <= :b ORDER BY seq"),
            {"a": logged.first.size, "b": logged.second.size})]
        conn.execute(text("UPDATE audit_checkpoints SET event_hashes = :h WHERE seq = :s"),
                     {"h": b"".join(hashes), "s": logged.second.size})
    found = errors(store.verify(public_keys=[key.public_key()]))
    assert set(found) == {"checkpoint.prefix_mismatch"}
    (problem,) = found["checkpoint.prefix_mismatch"]
    assert problem.data["first_bad_seq"] is None
    assert problem.data["after_seq"] == logged.first.size


def renumber_after_delete(store: eakte.Store, gone: int) -> None:
    """Delete event ``gone``, renumber the later ones and recompute their chain and the head."""
    drop_triggers(store, "audit_events")
    table = AuditEvent.__table__
    with store.engine.begin() as conn:
        later = [dict(r._mapping) for r in conn.execute(
            select(table).where(table.c.seq > gone).order_by(table.c.seq))]
        conn.execute(delete(table).where(table.c.seq >= gone))
        prev = conn.execute(select(table.c.hash).where(table.c.seq == gone - 1)).scalar_one()
        for new_seq, row in enumerate(later, start=gone):
            doc = json.loads(bytes(row["canonical"]))
            doc["seq"] = new_seq
            row["canonical"] = json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                          ensure_ascii=False).encode()
            prev = hashlib.sha256(bytes.fromhex(prev) + row["canonical"]).hexdigest()
            row.update(seq=new_seq, hash=prev)
            conn.execute(insert(table), row)
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"),
                     {"s": gone + len(later) - 1, "h": prev})


def test_deleted_event_is_located(logged: Logged) -> None:
    store, key = logged.store, logged.key
    target = logged.first.size + 1
    renumber_after_delete(store, target)
    found = errors(store.verify(public_keys=[key.public_key()]))
    assert not [k for k in found if k.startswith("audit.")], found
    (problem,) = found["checkpoint.prefix_mismatch"]
    assert problem.data["first_bad_seq"] == target


def test_truncated_log(logged: Logged) -> None:
    store, key = logged.store, logged.key
    keep = logged.second.size - 2
    drop_triggers(store, "audit_events")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})
        last = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :k"),
                            {"k": keep}).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = :k, hash = :h WHERE id = 1"),
                     {"k": keep, "h": last})
    report = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("second.txt", logged.second)])
    found = errors(report)
    assert not [k for k in found if k.startswith("audit.")], found
    # (the removed events created a unit and documents, so their rows are unaudited now)
    assert {"checkpoint.truncated", "version.unaudited"} <= set(found), found
    assert all(k.endswith(".unaudited") for k in set(found) - {"checkpoint.truncated"}), found
    assert len(found["checkpoint.truncated"]) == 2  # the stored row and the file
    assert all(p.data["log_size"] == keep for p in found["checkpoint.truncated"])
    with pytest.raises(eakte.IntegrityError, match="ends at event"):
        store.checkpoint(key=key)


def test_altered_checkpoint_text_fails_its_signature(logged: Logged) -> None:
    store, key = logged.store, logged.key
    cp = logged.first
    forged_root = Checkpoint.parse(cp.text.replace(f"root: {cp.root}", "root: " + "a" * 64))
    forged_size = Checkpoint.parse(cp.text.replace(f"size: {cp.size}", f"size: {cp.size - 1}"))
    report = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("root.txt", forged_root), ("size.txt", forged_size)])
    found = errors(report)
    assert set(found) == {"checkpoint.signature_invalid"}
    assert {p.subject.split(" (")[0] for p in found["checkpoint.signature_invalid"]} == {
        "checkpoint file root.txt", "checkpoint file size.txt"}
    # the same edit in the database, text and column alike
    drop_triggers(store, "audit_checkpoints")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET text = :t, merkle_root = :r "
                          "WHERE seq = :s"),
                     {"t": forged_root.text, "r": forged_root.root, "s": cp.size})
    found = errors(store.verify(public_keys=[key.public_key()]))
    assert set(found) == {"checkpoint.signature_invalid"}
    assert found["checkpoint.signature_invalid"][0].subject == f"checkpoint {cp.size}"


def test_wrong_trusted_key_and_a_forger_with_his_own_key(logged: Logged, tmp_path) -> None:
    store, key = logged.store, logged.key
    other = generate_key_file(tmp_path / "other.pem")
    report = store.verify(public_keys=[other.public_key()],
                          checkpoints=[("second.txt", logged.second)])
    found = errors(report)
    assert set(found) == {"checkpoint.signature_invalid"}
    assert len(found["checkpoint.signature_invalid"]) == 3
    assert "not signed by a trusted key" in found["checkpoint.signature_invalid"][0].message

    # The forger signs a checkpoint of his own over a rewritten log: only a pinned key
    # catches that, an embedded key cannot.
    forged = replace(logged.second, public_key=other.public_key(), signature=b"")
    forged = replace(forged, signature=other.sign(forged.signed_bytes()))
    assert forged.signature_valid()
    unpinned = store.verify(checkpoints=[("forged.txt", forged)])
    assert unpinned.ok
    assert [p.kind for p in unpinned.notices] == ["checkpoint.key_not_pinned"]
    pinned = store.verify(public_keys=[key.public_key()],
                          checkpoints=[("forged.txt", forged)])
    assert [p.kind for p in pinned.errors] == ["checkpoint.signature_invalid"]


def test_checkpoint_from_another_store(logged: Logged, store_factory, tmp_path) -> None:
    other = store_factory.init(tmp_path / "other", db_url=None)
    cp = other.checkpoint(key=logged.key)
    assert cp is not None
    found = errors(logged.store.verify(public_keys=[logged.key.public_key()],
                                       checkpoints=[("other.txt", cp)]))
    assert set(found) == {"checkpoint.store_mismatch"}


def test_removed_checkpoint_row_is_reported(logged: Logged) -> None:
    store = logged.store
    drop_triggers(store, "audit_checkpoints")
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq = :s"),
                     {"s": logged.first.size})
    found = errors(store.verify(public_keys=[logged.key.public_key()]))
    assert set(found) == {"checkpoint.missing", "checkpoint.data_mismatch"}
    assert found["checkpoint.missing"][0].subject == f"checkpoint {logged.first.size}"


# -- verification without eakte -----------------------------------------------------------


def independent_verify(checkpoint_text: str, public_key_pem: bytes,
                       events: list[dict]) -> tuple[str, int]:
    """The README procedure, with hashlib and cryptography only (no eakte code)."""
    lines = checkpoint_text.split("\n")
    assert lines[0] == "eakte-checkpoint v1"
    fields = dict(line.split(": ", 1) for line in lines[1:8])
    signed = "".join(line + "\n" for line in lines[:7]).encode("utf-8")
    key = load_pem_public_key(public_key_pem)
    assert isinstance(key, Ed25519PublicKey)
    key.verify(base64.b64decode(fields["sig"]), signed)  # raises InvalidSignature
    size = int(fields["size"])
    prev = bytes(32)
    stack: list[tuple[int, bytes]] = []
    for n, event in enumerate(events[:size], start=1):
        assert event["seq"] == n
        canonical = base64.b64decode(event["canonical"])
        prev = hashlib.sha256(prev + canonical).digest()
        assert prev.hex() == event["hash"]
        width, node = 1, hashlib.sha256(b"\x00" + prev).digest()
        while stack and stack[-1][0] == width:
            node = hashlib.sha256(b"\x01" + stack.pop()[1] + node).digest()
            width *= 2
        stack.append((width, node))
    assert len(events) >= size, "the export has fewer events than the checkpoint"
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = hashlib.sha256(b"\x01" + left + root).digest()
    assert prev.hex() == fields["head"], "chain head differs"
    assert root.hex() == fields["root"], "Merkle root differs"
    return fields["store"], size


def test_exported_checkpoint_verifies_without_eakte(logged: Logged, db_url, tmp_path):
    store, key = logged.store, logged.key
    args = ["--store", str(store.location), *(["--db", db_url] if db_url else [])]
    runner = CliRunner(env={"EAKTE_STORE": None, "EAKTE_USER": None,
                            "EAKTE_CHECKPOINT_KEY": None})
    exported = runner.invoke(cli, [*args, "audit", "--json"])
    assert exported.exit_code == 0, exported.output
    events = json.loads(exported.stdout)
    pem = Path(str(key.path) + ".pub").read_bytes()
    for cp in (logged.first, logged.second):
        assert independent_verify(cp.text, pem, events) == (store.setting("store_id"), cp.size)
    with pytest.raises(InvalidSignature):  # a forged text fails
        independent_verify(logged.first.text.replace("size: ", "size: 1"), pem, events)

    rewrite_event(store, logged.first.size + 1, b'"actor":"admin"', b'"actor":"nimda"',
                  actor="nimda")
    events = json.loads(runner.invoke(cli, [*args, "audit", "--json"]).stdout)
    independent_verify(logged.first.text, pem, events)  # the prefix before is intact
    with pytest.raises(AssertionError, match="differs"):
        independent_verify(logged.second.text, pem, events)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_signature(logged: Logged, tmp_path: Path) -> None:
    cp_file = tmp_path / "cp.txt"
    cp_file.write_text(logged.second.text)
    lines = cp_file.read_text().split("\n")
    (tmp_path / "msg").write_bytes("".join(line + "\n" for line in lines[:7]).encode())
    (tmp_path / "sig").write_bytes(base64.b64decode(lines[7].removeprefix("sig: ")))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
               str(logged.key.path) + ".pub", "-rawin", "-in", "msg", "-sigfile", "sig"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                        env={**os.environ, "LC_ALL": "C"})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "msg").write_bytes((tmp_path / "msg").read_bytes().replace(b"size: ", b"size: 9"))
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0


def test_a_new_key_hashes_the_whole_log_again(logged: Logged, tmp_path) -> None:
    store, old = logged.store, logged.key
    new = generate_key_file(tmp_path / "new.pem")
    cp = store.checkpoint(key=new)
    assert cp is not None and cp.public_key == new.public_key()
    with store.session() as s:
        hashes = [bytes.fromhex(e.hash) for e in s.audit_events()]
    assert merkle_root(hashes[:cp.size]).hex() == cp.root
    assert store.verify(public_keys=[old.public_key(), new.public_key()]).problems == []
    only_new = errors(store.verify(public_keys=[new.public_key()]))
    assert [p.subject for p in only_new["checkpoint.signature_invalid"]] == [
        f"checkpoint {logged.first.size}", f"checkpoint {logged.second.size}"]

    # the full pass compares with the earlier checkpoints' signed heads
    with store.session() as s:
        s.add_plan_unit("2", "Finanzen")
    rewrite_event(store, 3, b'"actor":"admin"', b'"actor":"nimda"', actor="nimda")
    newer = generate_key_file(tmp_path / "newer.pem")
    with pytest.raises(eakte.IntegrityError, match="does not extend"):
        store.checkpoint(key=newer)
