"""Encryption at rest: put and read throughput of plain vs. encrypted blobs (MB/s, ratio).

Two workloads (--quick: 50 × 100 KB and 1 × 20 MB):

* **small**: 200 blobs of 100 KB;
* **large**: 3 blobs of 20 MB.

**plain** is a bare ``LocalBlobStore``. **encrypted** is the ``EncryptedBlobStore`` (an
``EncryptingBlobStore`` over a ``LocalBlobStore``) of a fresh encrypted SQLite store, written
the way filing writes it: every put of a workload in one session
(``store.session_blobs(orm)``: AES-256-GCM while streaming into a draft (a temp file),
plaintext SHA-256 on the fly, the data key reserved in the database), one commit at the
end (timed too). Reads go through ``blobs.open`` (a key lookup in the database per blob,
streaming decryption; the SHA-256 re-check of ``open_content`` is not included for either
side). Both sides fsync as in production unless ``--no-fsync``. Content is random (no
deduplication). The median of --repeat runs is printed, with every run.

Run: ``.venv/bin/python benchmarks/bench_encryption.py [--quick] [--repeat R] [--no-fsync]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import eakte
from eakte.crypto.masterkey import generate_master_key_file

_MB = 1_000_000


def _payloads(count: int, size: int) -> list[bytes]:
    return [os.urandom(size) for _ in range(count)]


def _read_all(store: eakte.LocalBlobStore, shas: list[str]) -> int:
    total = 0
    for sha in shas:
        with store.open(sha) as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
    return total


def _plain(folder: Path, data: list[bytes], fsync: bool) -> tuple[float, float]:
    blobs = eakte.LocalBlobStore(folder / "plain", fsync=fsync)
    t0 = time.perf_counter()
    shas = [blobs.put(io.BytesIO(d)).sha256 for d in data]
    t1 = time.perf_counter()
    _read_all(blobs, shas)
    return t1 - t0, time.perf_counter() - t1


def _encrypted(folder: Path, data: list[bytes], fsync: bool) -> tuple[float, float]:
    from eakte.crypto.blobstore import EncryptedBlobStore

    key = generate_master_key_file(folder / "master.key")
    blobs = EncryptedBlobStore(folder / "enc" / "blobs", master_key=key, fsync=fsync)
    store = eakte.init(folder / "enc", encrypt=True, blobs=blobs, search="none")
    try:
        with store.session() as s:
            s.add_plan_unit("1", "Allgemeines")
            akte_id = s.create_akte("1", "Benchmark").id
        ring = blobs.keyring
        orm = store.orm_session()
        t0 = time.perf_counter()
        with orm.begin():
            view = store.session_blobs(orm)
            shas = [view.put(io.BytesIO(d)).sha256 for d in data]
            staged, now = ring.staged(orm), store.clock()
            for sha in shas:  # what the commit does for the versions of filed documents
                ring.grant(orm, sha, akte_id, staged[sha], now)
        t1 = time.perf_counter()
        orm.close()
        _read_all(blobs, shas)
        return t1 - t0, time.perf_counter() - t1
    finally:
        store.close()


def _median(run: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float,
                                                                        list[tuple[float,
                                                                                   float]]]:
    runs = [run() for _ in range(repeat)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement")
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync on both sides")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    fsync = not args.no_fsync
    workloads = ([("small", 50, 100_000), ("large", 1, 20_000_000)] if args.quick else
                 [("small", 200, 100_000), ("large", 3, 20_000_000)])
    print(f"eakte {eakte.__version__}; load average {os.getloadavg()[0]:.2f}; "
          f"fsync {'on' if fsync else 'off'}; median of {repeat} run(s)")
    print(f"{'workload':<22} {'side':<10} {'put MB/s':>10} {'read MB/s':>10}")
    for name, count, size in workloads:
        data = _payloads(count, size)
        total = count * size / _MB
        results = {}
        for side, func in (("plain", _plain), ("encrypted", _encrypted)):
            def run(func: Callable[[Path, list[bytes], bool], tuple[float, float]] = func,
                    data: list[bytes] = data) -> tuple[float, float]:
                folder = Path(tempfile.mkdtemp(prefix="eakte-bench-enc-"))
                try:
                    return func(folder, data, fsync)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)

            put, read, runs = _median(run, repeat)
            results[side] = (total / put, total / read)
            label = f"{name} ({count} × {size // 1000:,} KB)"
            print(f"{label:<22} {side:<10} {total / put:>10.1f} {total / read:>10.1f}   runs: "
                  + ", ".join(f"{p:.3f}s/{r:.3f}s" for p, r in runs))
        plain, enc = results["plain"], results["encrypted"]
        print(f"{'':<22} {'ratio':<10} {enc[0] / plain[0]:>10.2f} {enc[1] / plain[1]:>10.2f}"
              "   (encrypted ÷ plain throughput)")


if __name__ == "__main__":
    main()
