"""The encrypted blob format and EncryptedBlobStore: round trips, tampering, contract, memory."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

import eakte
from eakte.crypto.aead import (
    HEADER_SIZE,
    MAGIC,
    TAG_SIZE,
    DecryptingReader,
    StreamEncryptor,
    decrypts_with,
    new_key,
    plaintext_size,
    seal,
    unseal,
)
from eakte.crypto.blobstore import EncryptedBlobStore
from eakte.crypto.masterkey import FileMasterKey, generate_master_key_file, master_key_id
from eakte.errors import IntegrityError, InvalidInput, MasterKeyError, StateConflict
from eakte.testing.blobstore import BlobStoreContract

SHIFT = 10  # 1 KiB segments keep the format tests small
SEG = 1 << SHIFT


def encrypt(data: bytes, key: bytes, *, shift: int = SHIFT, chunk: int = 700) -> bytes:
    enc = StreamEncryptor(key, segment_shift=shift)
    out = [enc.header]
    for start in range(0, len(data), chunk):
        out.extend(enc.update(data[start:start + chunk]))
    out.append(enc.finalize(hashlib.sha256(data).hexdigest(), len(data)))
    return b"".join(out)


def decrypt(blob: bytes, key: bytes, sha256: str) -> bytes:
    with DecryptingReader(io.BytesIO(blob), key, sha256) as reader:
        return reader.read()


def segments(blob: bytes) -> list[bytes]:
    body = blob[HEADER_SIZE:]
    return [body[i:i + SEG + TAG_SIZE] for i in range(0, len(body), SEG + TAG_SIZE)]


# -- the stream format -------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 5, 10_000])
def test_round_trip_and_size(size: int) -> None:
    data = os.urandom(size)
    key = new_key()
    blob = encrypt(data, key)
    assert blob[:8] == MAGIC
    assert decrypt(blob, key, hashlib.sha256(data).hexdigest()) == data
    assert plaintext_size(len(blob), segment_shift=SHIFT) == size
    full, rest = divmod(size, SEG)
    assert len(segments(blob)) == max(1, full + (1 if rest else 0))  # no empty tail segment


def test_default_segments_are_64_kib() -> None:
    data = os.urandom(3 * 65536 + 1)
    blob = encrypt(data, new_key(), shift=16, chunk=100_000)
    assert blob[9] == 16
    assert plaintext_size(len(blob)) == len(data)
    assert len(blob) == HEADER_SIZE + len(data) + 4 * TAG_SIZE


def test_plaintext_size_refuses_impossible_lengths() -> None:
    with pytest.raises(ValueError):
        plaintext_size(HEADER_SIZE + TAG_SIZE - 1)
    with pytest.raises(ValueError):  # a second segment of nothing but a tag
        plaintext_size(HEADER_SIZE + (SEG + TAG_SIZE) + TAG_SIZE, segment_shift=SHIFT)


@pytest.fixture
def sample() -> tuple[bytes, bytes, str, bytes]:
    data = os.urandom(3 * SEG + 100)
    key = new_key()
    return data, key, hashlib.sha256(data).hexdigest(), encrypt(data, key)


def _fails(blob: bytes, key: bytes, sha: str, match: str = "damaged") -> None:
    with pytest.raises(IntegrityError, match=match) as info:
        decrypt(blob, key, sha)
    assert info.value.problems[0].kind == "blob.corrupt"


@pytest.mark.parametrize("position", [0, 8, 9, 12, HEADER_SIZE, HEADER_SIZE + SEG + 3, -1])
def test_any_flipped_byte_is_detected(sample, position: int) -> None:
    _, key, sha, blob = sample
    damaged = bytearray(blob)
    damaged[position] ^= 0x01
    _fails(bytes(damaged), key, sha)


def test_flipped_byte_names_its_segment(sample) -> None:
    _, key, sha, blob = sample
    damaged = bytearray(blob)
    damaged[HEADER_SIZE + 2 * (SEG + TAG_SIZE) + 5] ^= 0x80
    _fails(bytes(damaged), key, sha, match="segment 2")


def test_truncation_is_detected(sample) -> None:
    _, key, sha, blob = sample
    parts = segments(blob)
    header = blob[:HEADER_SIZE]
    _fails(header + b"".join(parts[:-1]), key, sha)  # last segment dropped
    _fails(blob[:-1], key, sha)  # cut inside the last segment
    _fails(blob[:HEADER_SIZE + SEG + TAG_SIZE + 10], key, sha)  # cut inside a segment
    _fails(blob[:HEADER_SIZE], key, sha)  # no segment at all
    _fails(blob[:5], key, sha)  # not even a header


def test_reordered_duplicated_and_appended_segments_are_detected(sample) -> None:
    _, key, sha, blob = sample
    header, parts = blob[:HEADER_SIZE], segments(blob)
    _fails(header + parts[1] + parts[0] + b"".join(parts[2:]), key, sha)
    _fails(header + parts[0] + b"".join(parts), key, sha)
    _fails(blob + parts[-1], key, sha)
    _fails(blob + b"\x00", key, sha)


def test_segments_from_another_blob_are_detected(sample) -> None:
    data, key, sha, blob = sample
    # the same content and key, but a separately encrypted file (another nonce prefix)
    other = encrypt(data, key)
    header, mine, theirs = blob[:HEADER_SIZE], segments(blob), segments(other)
    _fails(header + mine[0] + theirs[1] + b"".join(mine[2:]), key, sha)
    assert decrypt(other, key, sha) == data


def test_a_file_cannot_stand_in_for_another_address() -> None:
    key = new_key()
    first, second = b"Bescheid A" * 300, b"Bescheid B" * 300
    blob = encrypt(first, key)
    # even under the same data key, the last segment authenticates the address
    _fails(blob, key, hashlib.sha256(second).hexdigest())
    _fails(blob, new_key(), hashlib.sha256(first).hexdigest())


def test_decrypts_with_tells_the_key() -> None:
    key = new_key()
    blob = encrypt(b"x" * 5000, key)
    sha = hashlib.sha256(b"x" * 5000).hexdigest()
    assert decrypts_with(io.BytesIO(blob), key, sha)
    assert not decrypts_with(io.BytesIO(blob), new_key(), sha)
    assert not decrypts_with(io.BytesIO(b"plain text, not encrypted"), key, sha)


def test_seal_binds_key_and_context() -> None:
    key, secret = new_key(), new_key()
    sealed = seal(key, secret, b"akte 1")
    assert unseal(key, sealed, b"akte 1") == secret
    assert unseal(key, sealed, b"akte 2") is None
    assert unseal(new_key(), sealed, b"akte 1") is None
    assert unseal(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"akte 1") is None


# -- master key files --------------------------------------------------------------------


def test_generated_key_file(tmp_path: Path) -> None:
    provider = generate_master_key_file(tmp_path / "master.key")
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    assert provider.key_id.startswith("aes256:") and len(provider.key_id) == 23
    assert FileMasterKey(tmp_path / "master.key").key_id == provider.key_id
    with pytest.raises(StateConflict):
        generate_master_key_file(tmp_path / "master.key")


def test_openssl_style_key_file_and_bad_files(tmp_path: Path) -> None:
    import base64

    raw = os.urandom(32)
    path = tmp_path / "k"
    path.write_text(base64.b64encode(raw).decode() + "\n")
    path.chmod(0o600)
    assert FileMasterKey(path).key_id == master_key_id(raw)
    path.write_text("not base64 !!\n")
    with pytest.raises(MasterKeyError, match="not base64"):
        _ = FileMasterKey(path).key_id
    path.write_text(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(MasterKeyError, match="128-bit"):
        _ = FileMasterKey(path).key_id
    with pytest.raises(MasterKeyError, match="cannot read"):
        _ = FileMasterKey(tmp_path / "missing").key_id
    wrapped = generate_master_key_file(tmp_path / "a.key").wrap(raw, b"ctx")
    generate_master_key_file(tmp_path / "b.key")
    with pytest.raises(MasterKeyError, match="cannot unwrap"):
        FileMasterKey(tmp_path / "b.key").unwrap(wrapped, b"ctx")


def test_readable_key_file_warns(tmp_path: Path) -> None:
    generate_master_key_file(tmp_path / "k").path.chmod(0o644)
    with pytest.warns(eakte.EakteWarning, match="chmod 600"):
        _ = FileMasterKey(tmp_path / "k").key_id


# -- the store ---------------------------------------------------------------------------


@pytest.fixture
def master_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("EAKTE_MASTER_KEY_FILE", raising=False)
    generate_master_key_file(tmp_path / "master.key")
    return tmp_path / "master.key"


@pytest.fixture
def enc_store(store_factory, tmp_path: Path, master_key: Path) -> eakte.Store:
    return store_factory.init(tmp_path / "enc", encrypt=True, master_key=master_key,
                              search="none")


def _akte_id(store: eakte.Store, title: str = "Akte") -> int:
    with store.session() as s:
        if not s.plan_units():
            s.add_plan_unit("1", "Allgemeines")
        return s.create_akte("1", title).id


class TestEncryptedAkteBlobs(BlobStoreContract):
    """The contract, for puts that wrap their key for one Akte (outside sessions)."""

    @pytest.fixture
    def blob_store(self, enc_store: eakte.Store):
        return enc_store.blobs.for_akte(_akte_id(enc_store))


class TestEncryptedSessionBlobs(BlobStoreContract):
    """The contract, for puts staged in an open ORM session."""

    @pytest.fixture
    def blob_store(self, enc_store: eakte.Store) -> Iterator[object]:
        orm = enc_store.orm_session()
        orm.begin()
        yield enc_store.session_blobs(orm)
        orm.rollback()
        orm.close()


def test_plain_put_is_refused(enc_store: eakte.Store) -> None:
    assert isinstance(enc_store.blobs, EncryptedBlobStore)
    with pytest.raises(InvalidInput, match="for the Akte"):
        enc_store.blobs.put(io.BytesIO(b"x"))


class _Generated(io.RawIOBase):
    """``size`` pseudo-random bytes made on the fly (never all in memory)."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._counter = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self._left, 1 << 20)
        if n <= 0:
            return 0
        self._counter += 1
        block = hashlib.shake_256(self._counter.to_bytes(8, "big")).digest(n)
        buffer[:n] = block
        self.digest.update(block)
        self._left -= n
        return n


def test_large_blob_streams_with_flat_memory(enc_store: eakte.Store) -> None:
    size = 20 * 1024 * 1024
    blobs = enc_store.blobs.for_akte(_akte_id(enc_store))
    source = _Generated(size)
    tracemalloc.start()
    try:
        info = blobs.put(io.BufferedReader(source))
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        read = 0
        with enc_store.blobs.open(info.sha256) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                read += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.sha256 == source.digest.hexdigest() and info.size == size
    assert digest.hexdigest() == info.sha256 and read == size
    assert enc_store.blobs.size(info.sha256) == size
    assert put_peak < size / 4, put_peak
    assert read_peak < size / 4, read_peak


def test_tampered_file_fails_to_read(enc_store: eakte.Store) -> None:
    blobs = enc_store.blobs
    view = blobs.for_akte(_akte_id(enc_store))
    data = os.urandom(200_000)
    info = view.put(io.BytesIO(data))
    path = blobs.path_for(info.sha256)
    raw = bytearray(path.read_bytes())
    raw[HEADER_SIZE + 70_000] ^= 0x04
    path.chmod(0o644)
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="segment 1"), blobs.open(info.sha256) as fh:
        fh.read()


def test_swapped_files_fail_to_read(enc_store: eakte.Store) -> None:
    view = enc_store.blobs.for_akte(_akte_id(enc_store))
    first = view.put(io.BytesIO(b"Erster Bescheid" * 100))
    second = view.put(io.BytesIO(b"Zweiter Bescheid" * 100))
    a, b = (enc_store.blobs.path_for(i.sha256) for i in (first, second))
    data_a, data_b = a.read_bytes(), b.read_bytes()
    for path, data in ((a, data_b), (b, data_a)):
        path.chmod(0o644)
        path.write_bytes(data)
    for info in (first, second):
        with pytest.raises(IntegrityError), enc_store.blobs.open(info.sha256) as fh:
            fh.read()


def test_leftover_file_without_key_is_replaced(enc_store: eakte.Store) -> None:
    """A crash after the link but before the commit leaves a file no key opens."""
    data = b"Vermerk ueber die Ortsbesichtigung" * 50
    orm = enc_store.orm_session()
    orm.begin()
    info = enc_store.session_blobs(orm).put(io.BytesIO(data))
    orm.rollback()  # no row refers to it; its key is gone with the transaction
    orm.close()
    with pytest.raises(IntegrityError, match="no Akte holds a key"):
        enc_store.blobs.open(info.sha256)
    again = enc_store.blobs.for_akte(_akte_id(enc_store)).put(io.BytesIO(data))
    assert again.sha256 == info.sha256 and not again.created
    with enc_store.blobs.open(info.sha256) as fh:
        assert fh.read() == data
