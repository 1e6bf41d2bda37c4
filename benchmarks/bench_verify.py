"""Verification speed: audit events/s of the chain check and MB/s of blob re-hashing.

Part 1 (SQLite and PostgreSQL): a store is filled with EVENTS real, chained audit events
(``eakte.audit.log.append_events`` in large transactions: a mix of ``akte.create``,
``document.file``, ``version.add`` and ``content.read`` events with realistic details);
then ``Store.verify(blobs=False)`` is timed. Reported: events/s of the audit stage and of
the whole call (audit chain + version rows), target >= 100,000 events/s.

Part 2 (SQLite): a store holds about MB megabytes of filed content (a few files of several
MB and many small ones); ``Store.verify(blobs=True)`` is timed and its blob stage compared
with plain ``hashlib.file_digest(..., "sha256")`` over the very same blob files. Both run on
a warm page cache (the files were just written), so this compares CPU cost per byte.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--quick] [--events N] [--mb M]``
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from datetime import UTC, datetime, timedelta

from _common import backends, fmt_runs, header, median, parse_args, pg_available, temp_store

import eakte
from eakte.audit.log import PendingEvent, append_events

USERS = ("admin", "mueller", "schmidt", "yilmaz", "becker")


def make_events(rng: random.Random, start: int, count: int) -> list[PendingEvent]:
    events = []
    for i in range(start, start + count):
        kind = i % 10
        az = f"630.10-{i // 50:05d}/2025"
        if kind == 0:
            events.append(PendingEvent("akte.create", "akte", i // 50, {
                "aktenzeichen": az, "title": f"Bauantrag Lindenstraße {i // 50}",
                "unit": "630.10", "confidentiality": "open", "org_unit": None,
                "external_ids": [], "metadata": {}}))
        elif kind < 7:
            sha = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
            events.append(PendingEvent("document.file", "document", i, {
                "akte": i // 50, "aktenzeichen": az, "vorgang": None,
                "title": f"Stellungnahme Nachbar {i}.pdf", "kind": "incoming", "version": 1,
                "version_uuid": f"{rng.getrandbits(128):032x}", "sha256": sha,
                "size": rng.randrange(1000, 900_000), "mime": "application/pdf",
                "filename": f"Stellungnahme Nachbar {i}.pdf", "parent": None}))
        elif kind < 9:
            sha = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
            events.append(PendingEvent("version.add", "document", i - 3, {
                "aktenzeichen": az, "version": 2, "version_uuid": f"{rng.getrandbits(128):032x}",
                "sha256": sha, "size": rng.randrange(1000, 900_000), "mime": "text/plain",
                "filename": "vermerk.txt", "comment": "Korrektur Flurstück"}))
        else:
            events.append(PendingEvent("content.read", "document", i - 5, {
                "version": 1, "rendition": "original",
                "sha256": hashlib.sha256(i.to_bytes(8, "big")).hexdigest()}))
    return events


def fill_events(store: eakte.Store, total: int, batch: int = 10_000) -> float:
    """Append about ``total`` audit events; return the seconds it took."""
    rng = random.Random(11)
    t0 = time.perf_counter()
    done = 0
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    while done < total:
        n = min(batch, total - done)
        events = make_events(rng, done, n)
        # several actors and commit times, like many sessions
        per_session = 50
        with store.orm_session() as orm, orm.begin():
            for k in range(0, n, per_session):
                now += timedelta(seconds=7, microseconds=123)
                append_events(orm, USERS[(done + k) % len(USERS)],
                              events[k:k + per_session], now)
        done += n
    return time.perf_counter() - t0


def bench_events(backend: str, total: int, repeat: int) -> None:
    with temp_store(backend) as store:
        fill = fill_events(store, total)
        audit_times, total_times, counts = [], [], set()
        stages: dict[str, list[float]] = {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            report = store.verify(blobs=False)
            total_times.append(time.perf_counter() - t0)
            audit_times.append(report.seconds["audit"])
            for stage, seconds in report.seconds.items():
                stages.setdefault(stage, []).append(seconds)
            counts.add(report.events)
            assert report.ok, report.problems[:3]
        (events,) = counts
        print(f"[{backend}] {events:,} events (filled in {fill:.1f} s, "
              f"{events / fill:,.0f} appends/s)")
        print(f"[{backend}] audit chain: {events / median(audit_times):,.0f} events/s; "
              f"{fmt_runs(audit_times)}")
        print(f"[{backend}] verify(blobs=False) total: "
              f"{events / median(total_times):,.0f} events/s; {fmt_runs(total_times)}")
        print(f"[{backend}] stages (median s): " + ", ".join(
            f"{stage} {median(values):.3f}" for stage, values in stages.items()))


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
    def extra(parser):
        parser.add_argument("--events", type=int, default=None,
                            help="audit events to build (default 100,000)")
        parser.add_argument("--mb", type=int, default=None, help="MiB of blobs (default 200)")
        parser.add_argument("--skip-blobs", action="store_true")

    args = parse_args(__doc__.splitlines()[0], extra)
    total = args.events or (2_000 if args.quick else 100_000)
    megabytes = args.mb or (4 if args.quick else 200)
    repeat = args.repeat or (1 if args.quick else 5)
    header(f"bench_verify: {total:,} events, {megabytes} MiB blobs", args.quick)
    for backend in backends(args.backend):
        if backend == "postgresql":
            ok, reason = pg_available()
            if not ok:
                print(f"NOTE: PostgreSQL skipped, unreachable: {reason}")
                continue
        bench_events(backend, total, repeat)
    if not args.skip_blobs:
        bench_blobs(megabytes, repeat)


if __name__ == "__main__":
    main()
