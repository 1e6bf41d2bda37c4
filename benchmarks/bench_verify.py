"""Verification speed: audit events/s of the chain check and MB/s of blob re-hashing.

Part 1 (SQLite and PostgreSQL): for each size (default 100,000 and 1,000,000 events) a
store is bulk-filled with valid chained events encoded by the audit module itself
(``canonical_bytes``/``chain_hash``) and the rows they describe: a mix of ``akte.create``,
``document.file``, ``version.add`` and ``content.read``. Then, each in a fresh process,
the baseline (read the stored bytes and recompute the SHA-256 chain, nothing else) and
``Store.verify(blobs=False, index=False)`` (chain, replay of the record state compared with
the rows, checkpoints) are timed. Reported: events/s of both, their ratio, the stage times,
the replay's cost per 100,000 events and each process's peak RSS, which must stay flat
from the small size to the large one. Target: >= 100,000 events/s.

Part 2 (SQLite): a store holds about MB megabytes of filed content (a few files of several
MB and many small ones); ``Store.verify(blobs=True)`` is timed and its blob stage compared
with plain ``hashlib.file_digest(..., "sha256")`` over the very same blob files. Both run on
a warm page cache (the files were just written), so this compares CPU cost per byte.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--quick] [--events N,M] [--mb M]``
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import backends, fmt_runs, header, median, parse_args, pg_available, temp_store
from sqlalchemy import insert, select, update

import eakte
from eakte.audit.events import Action
from eakte.audit.log import GENESIS_HASH, canonical_bytes, chain_hash, event_akte_id
from eakte.model import AuditHead, Base

USERS = ("admin", "mueller", "schmidt", "yilmaz", "becker")
_NO_VORGANG = None


def bulk_fill(store: eakte.Store, total: int, batch: int = 20_000) -> float:
    """Append ``total`` valid chained events, with the rows they describe; return seconds.

    Events are encoded with the audit module's own ``canonical_bytes`` and ``chain_hash``
    and inserted in bulk together with the Akten, documents and versions they create, so
    the store verifies clean (chain, replay, versions) without going through the slow API.
    Per block of ten events: one ``akte.create`` every fifth block (otherwise a
    ``content.read``), six ``document.file``, two ``version.add`` and one ``content.read``.
    """
    with store.session() as s:
        unit = s.add_plan_unit("630.10", "Baugenehmigungen")
    unit_id = unit.id
    t0 = time.perf_counter()
    rng = random.Random(11)
    tables = {name: Base.metadata.tables[name] for name in
              ("audit_events", "akten", "documents", "versions")}
    with store.engine.connect() as conn:
        seq, prev = conn.execute(select(AuditHead.seq, AuditHead.hash)).one()
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    akte_id = doc_id = version_id = 0
    done = 0
    while done < total:
        events, akten, documents, versions = [], [], [], []
        for i in range(done, min(total, done + batch)):
            k = i % 10
            if k == 0 and i % 50 == 0:
                akte_id += 1
                az = f"630.10-{akte_id:05d}/2025"
                details = {"aktenzeichen": az, "title": f"Bauantrag Lindenstraße {akte_id}",
                           "unit": "630.10", "confidentiality": "offen", "org_unit": None,
                           "external_ids": [], "metadata": {}}
                akten.append({"id": akte_id, "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                              "aktenzeichen": az, "title": details["title"],
                              "unit_id": unit_id, "year": 2025, "number": akte_id,
                              "status": "open", "confidentiality": "offen", "org_unit": None,
                              "retention_override": False, "retention_years": None,
                              "meta": {}, "created_at": now, "created_by": "admin"})
                event = (Action.AKTE_CREATE, "akte", str(akte_id), details)
            elif 1 <= k <= 6:
                doc_id += 1
                version_id += 1
                sha = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
                vuuid = str(uuid.UUID(int=rng.getrandbits(128)))
                size = rng.randrange(1000, 900_000)
                title = f"Stellungnahme Nachbar {i}.pdf"
                details = {"akte": akte_id, "aktenzeichen": az, "vorgang": _NO_VORGANG,
                           "title": title, "kind": "incoming", "version": 1,
                           "version_uuid": vuuid, "sha256": sha, "size": size,
                           "mime": "application/pdf", "filename": title, "parent": None}
                documents.append({"id": doc_id, "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                                  "akte_id": akte_id, "vorgang_id": None,
                                  "parent_document_id": None, "title": title,
                                  "kind": "incoming", "document_date": None, "meta": {},
                                  "version_count": 2 if k <= 2 else 1, "created_at": now,
                                  "created_by": "admin", "updated_at": now})
                versions.append({"id": version_id, "uuid": vuuid, "document_id": doc_id,
                                 "number": 1, "sha256": sha, "size": size,
                                 "mime": "application/pdf", "filename": title,
                                 "comment": None, "created_at": now, "created_by": "admin"})
                event = (Action.DOCUMENT_FILE, "document", str(doc_id), details)
            elif k in (7, 8):
                target = doc_id - 6 + (k - 7) + 1  # the block's first and second document
                version_id += 1
                sha = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
                vuuid = str(uuid.UUID(int=rng.getrandbits(128)))
                size = rng.randrange(1000, 900_000)
                details = {"akte": akte_id, "aktenzeichen": az, "version": 2,
                           "version_uuid": vuuid, "sha256": sha, "size": size,
                           "mime": "text/plain", "filename": "vermerk.txt",
                           "comment": "Korrektur Flurstück"}
                versions.append({"id": version_id, "uuid": vuuid, "document_id": target,
                                 "number": 2, "sha256": sha, "size": size,
                                 "mime": "text/plain", "filename": "vermerk.txt",
                                 "comment": "Korrektur Flurstück", "created_at": now,
                                 "created_by": "admin"})
                event = (Action.VERSION_ADD, "document", str(target), details)
            else:
                target = max(doc_id - 3, 1)
                details = {"akte": akte_id, "version": 1, "rendition": "original",
                           "sha256": hashlib.sha256(i.to_bytes(8, "big")).hexdigest()}
                event = (Action.CONTENT_READ, "document", str(target), details)
            if i % 50 == 0:  # a new session: another actor, a later commit time
                now += timedelta(seconds=7, microseconds=123)
            actor = USERS[(i // 50) % len(USERS)]
            seq += 1
            action, object_type, object_id, details = event
            canonical = canonical_bytes(seq=seq, time=now, actor=actor, action=action,
                                        object_type=object_type, object_id=object_id,
                                        details=details)
            prev = chain_hash(prev, canonical)
            events.append({"seq": seq, "time": now, "actor": actor, "action": action,
                           "object_type": object_type, "object_id": object_id,
                           "details": details,
                           "akte_id": event_akte_id(object_type, object_id, details),
                           "canonical": canonical, "hash": prev})
        with store.engine.begin() as conn:
            for name, values in (("akten", akten), ("documents", documents),
                                 ("versions", versions), ("audit_events", events)):
                if values:
                    conn.execute(insert(tables[name]), values)
            conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
        done += len(events)
    return time.perf_counter() - t0


def raw_chain_pass(store: eakte.Store) -> int:
    """The baseline: read every event's stored bytes and recompute the hash chain only."""
    count = 0
    with store.read_connection() as conn, conn.begin():
        dbapi: Any = conn.connection.dbapi_connection
        cursor = (dbapi.cursor(name="bench_raw") if store.dialect == "postgresql"
                  else dbapi.cursor())
        cursor.execute("SELECT canonical, hash FROM audit_events ORDER BY seq")
        prev = bytes.fromhex(GENESIS_HASH)
        sha256 = hashlib.sha256
        while part := cursor.fetchmany(10_000):
            for canonical, _hash in part:
                prev = sha256(prev + bytes(canonical)).digest()
                count += 1
        cursor.close()
    return count


def child(mode: str, location: str, repeat: int) -> None:
    """Run one measurement in this (fresh) process and print it as JSON with the peak RSS."""
    store = eakte.open(location)
    times, stages = [], {}
    events = 0
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            if mode == "raw":
                events = raw_chain_pass(store)
            else:
                report = store.verify(blobs=False, index=False)
                assert report.ok, report.problems[:3]
                events = report.events
                for stage, seconds in report.seconds.items():
                    stages.setdefault(stage, []).append(seconds)
            times.append(time.perf_counter() - t0)
    finally:
        store.close()
    print(json.dumps({"events": events, "times": times,
                      "stages": {k: median(v) for k, v in stages.items()},
                      "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MB.

    ``VmHWM`` counts this program image only; ``ru_maxrss`` would report the forking
    parent's size for a child started by fork and exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(mode: str, store: eakte.Store, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(store.location), "--repeat",
         str(repeat)], check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def bench_events(backend: str, sizes: list[int], repeat: int) -> None:
    print(f"[{backend}] verify(blobs=False, index=False) against the raw chain-hash pass "
          "(read the stored bytes, SHA-256 chain, nothing else), each in a fresh process")
    for total in sizes:
        with temp_store(backend, search="none") as store:
            fill = bulk_fill(store, total)
            raw = _run_child("raw", store, repeat)
            full = _run_child("verify", store, repeat)
        events = full["events"]
        raw_rate = raw["events"] / median(raw["times"])
        rate = events / median(full["times"])
        records = full["stages"].get("records", 0.0)
        print(f"[{backend}] {events:,} events (bulk-filled in {fill:.1f} s)")
        print(f"[{backend}]   raw chain pass: {raw_rate:,.0f} events/s; {fmt_runs(raw['times'])};"
              f" peak RSS {raw['rss_mb']:.0f} MB")
        print(f"[{backend}]   verify total:   {rate:,.0f} events/s; {fmt_runs(full['times'])};"
              f" peak RSS {full['rss_mb']:.0f} MB")
        print(f"[{backend}]   ratio verify/raw: {rate / raw_rate:.2f}; stages (median s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in full["stages"].items()))
        print(f"[{backend}]   replay (records stage) per 100k events: "
              f"{records / events * 100_000:.2f} s")


def bench_blobs(megabytes: int, repeat: int) -> None:
    rng = random.Random(5)
    big_count = 8 if megabytes >= 100 else 2
    big_size = int(megabytes * 0.6 * 1024**2 / big_count)
    small_size = 24 * 1024
    small_count = int(megabytes * 0.4 * 1024**2 / small_size)
    with temp_store("sqlite") as store:
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            akte = s.create_akte("630.10", "Benchmark Blobs")
            for i in range(big_count):
                s.file_document(akte, os.urandom(big_size), filename=f"plan-{i}.bin")
            base = rng.randbytes(small_size)
            for i in range(small_count):
                s.file_document(akte, i.to_bytes(8, "big") + base[8:],
                                filename=f"scan-{i}.bin")
        paths = [store.blobs.path_for(sha) for sha in store.blobs]
        nbytes = sum(p.stat().st_size for p in paths)
        print(f"[blobs] {len(paths):,} blobs, {nbytes / 1024**2:.1f} MiB "
              f"({big_count} x {big_size / 1024**2:.1f} MiB + {small_count} x "
              f"{small_size // 1024} KiB)")

        def raw() -> float:
            t0 = time.perf_counter()
            for path in paths:
                with path.open("rb") as fh:
                    hashlib.file_digest(fh, "sha256")
            return time.perf_counter() - t0

        raw_times, blob_times = [], []
        for _ in range(repeat):  # alternate, so both see the same cache and load
            raw_times.append(raw())
            report = store.verify(blobs=True)
            assert report.ok and report.blob_bytes == nbytes, report.problems[:3]
            blob_times.append(report.seconds["blobs"])
        mb = nbytes / 1024**2
        raw_rate, blob_rate = mb / median(raw_times), mb / median(blob_times)
        print(f"[blobs] raw hashlib sha256: {raw_rate:,.0f} MiB/s; {fmt_runs(raw_times)}")
        print(f"[blobs] verify blob stage: {blob_rate:,.0f} MiB/s; {fmt_runs(blob_times)}")
        print(f"[blobs] ratio verify/raw: {blob_rate / raw_rate:.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[5]))
        return

    def extra(parser):
        parser.add_argument("--events", default=None,
                            help="comma-separated store sizes in audit events "
                                 "(default 100000,1000000)")
        parser.add_argument("--mb", type=int, default=None, help="MiB of blobs (default 200)")
        parser.add_argument("--skip-blobs", action="store_true")

    args = parse_args(__doc__.splitlines()[0], extra)
    sizes = [int(n) for n in (args.events or ("2000,10000" if args.quick
                                              else "100000,1000000")).split(",")]
    megabytes = args.mb or (4 if args.quick else 200)
    repeat = args.repeat or (1 if args.quick else 3)
    header(f"bench_verify: {', '.join(f'{n:,}' for n in sizes)} events, {megabytes} MiB blobs",
           args.quick)
    for backend in backends(args.backend):
        if backend == "postgresql":
            ok, reason = pg_available()
            if not ok:
                print(f"NOTE: PostgreSQL skipped, unreachable: {reason}")
                continue
        bench_events(backend, sizes, repeat)
    if not args.skip_blobs:
        bench_blobs(megabytes, repeat)


if __name__ == "__main__":
    main()
