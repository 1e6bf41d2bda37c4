"""Filing throughput: documents/s for filing many small files into one Akte in one go.

Measures, on SQLite and PostgreSQL:

* ``api``: ``Session.file_documents(akte, paths)`` in one session (one transaction, one
  commit), i.e. what ``eakte add AZ DIR`` does inside;
* ``cli``: the real command ``eakte --store STORE add AZ DIR`` run as a subprocess
  (includes interpreter start-up and import time; skipped with a note if the console
  script is not functional);
* ``blob-only``: the unavoidable baseline, writing the same files to a bare
  ``LocalBlobStore`` with fsync (hash, write, fsync file, rename, fsync folder).

The ratio ``blob-only / api`` says how much the records layer (rows, audit chain, commit)
costs on top of durable content storage.

Next to the docs/s figures it prints the SQL cost of filing (counted with SQLAlchemy engine
events on every engine of the store, indexing after the commit included): per document of
the batch, and for one document filed alone with ``Session.file_document`` in a fresh
session.

Run: ``.venv/bin/python benchmarks/bench_filing.py [--quick] [--count N] [--repeat R]``
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import (
    EAKTE_CLI,
    SqlCounter,
    backends,
    fmt_runs,
    german_files,
    header,
    median,
    parse_args,
    pg_available,
    temp_store,
    timed,
    write_files,
)

import eakte

KENNZEICHEN = "630.10"


def blob_only(paths: list[Path]) -> float:
    folder = Path(tempfile.mkdtemp(prefix="eakte-bench-blobs-"))
    try:
        blobs = eakte.LocalBlobStore(folder, fsync=True)

        def run() -> None:
            for path in paths:
                with path.open("rb") as fh:
                    blobs.put(fh)

        seconds, _ = timed(run)
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mime_only(paths: list[Path]) -> float:
    from eakte.ingest.mime import SNIFF_BYTES, detect_mime

    heads = []
    for path in paths:
        with path.open("rb") as fh:
            heads.append(fh.read(SNIFF_BYTES))
    detect_mime(heads[0])  # load libmagic outside the timing
    seconds, _ = timed(lambda: [detect_mime(head) for head in heads])
    return seconds


def prepare(store: eakte.Store) -> str:
    with store.session() as s:
        s.add_plan_unit(KENNZEICHEN, "Baugenehmigungen", retention_years=30)
        akte = s.create_akte(KENNZEICHEN, "Benchmark Lindenstraße 4")
    return akte.aktenzeichen


#: SQL cost per backend, filled by the first api run: (batch per document, one document).
SQL_COST: dict[str, tuple[str, str]] = {}


def api_filing(backend: str, paths: list[Path]) -> float:
    with temp_store(backend) as store:
        az = prepare(store)

        def run() -> int:
            with store.session() as s:
                docs = s.file_documents(s.get_akte(az), paths)
            return len(docs)

        with SqlCounter() as batch:
            seconds, n = timed(run)
        assert n == len(paths)
        with store.session() as s:
            akte = s.get_akte(az)
            assert len(s.documents(akte)) == len(paths)
        with SqlCounter() as single:
            with store.session() as s:
                s.file_document(akte, b"Einzelner Bescheid zur Messung", filename="one.txt")
        SQL_COST.setdefault(backend, (batch.summary(per=n), single.summary()))
        return seconds


def cli_works() -> tuple[bool, str]:
    if not EAKTE_CLI.exists():
        return False, f"{EAKTE_CLI} does not exist"
    proc = subprocess.run([str(EAKTE_CLI), "--help"], capture_output=True, text=True)
    if proc.returncode != 0 or "add" not in proc.stdout:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return False, f"'eakte --help' failed (exit {proc.returncode}): {tail}"
    return True, ""


def cli_startup() -> float:
    seconds, _ = timed(lambda: subprocess.run([str(EAKTE_CLI), "--help"],
                                              capture_output=True, check=True))
    return seconds


def cli_filing(backend: str, folder: Path, count: int) -> float:
    with temp_store(backend) as store:
        az = prepare(store)
        assert store.location is not None
        cmd = [str(EAKTE_CLI), "--store", str(store.location), "add", az, str(folder)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()[-500:]}")
        with store.session() as s:
            filed = len(s.documents(s.get_akte(az)))
        if filed != count:
            raise RuntimeError(f"CLI filed {filed} documents, expected {count}")
        return seconds


def main() -> None:
    def extra(parser):
        parser.add_argument("--count", type=int, default=None, help="files (default 2000)")
        parser.add_argument("--no-cli", action="store_true", help="skip the CLI measurement")

    args = parse_args(__doc__.splitlines()[0], extra)
    count = args.count or (30 if args.quick else 2000)
    repeat = args.repeat or (1 if args.quick else 3)
    header(f"bench_filing: {count} files in one add", args.quick)

    work = Path(tempfile.mkdtemp(prefix="eakte-bench-files-"))
    try:
        files = german_files(count)
        assert len({data for _, data in files}) == count, "files must be distinct"
        paths = write_files(work / "in", files)
        avg = sum(len(d) for _, d in files) / count
        print(f"corpus: {count} distinct files, average {avg:.0f} bytes")

        cli_ok, why = (False, "--no-cli given") if args.no_cli else cli_works()
        if cli_ok and not args.quick:
            startups = [cli_startup() for _ in range(repeat)]
            print(f"cli start-up ('eakte --help'): {fmt_runs(startups)}")
        elif not cli_ok:
            print(f"NOTE: CLI not measured, API only: {why}")

        mime_seconds = mime_only(paths)
        print(f"mime detection alone (libmagic on the first 8 KiB): "
              f"{count / mime_seconds:,.0f} files/s")

        kinds = ["api", "cli"] if cli_ok else ["api"]
        measure = {"api": api_filing, "cli": lambda b, p: cli_filing(b, work / "in", count)}
        todo = []
        for backend in backends(args.backend):
            if backend == "postgresql":
                ok, reason = pg_available()
                if not ok:
                    print(f"NOTE: PostgreSQL skipped, unreachable: {reason}")
                    continue
            # --quick: the CLI only on the first database, to keep the smoke test short
            todo += [(backend, kind) for kind in kinds
                     if kind == "api" or not args.quick or not todo]
        # The disk is shared (fsync latency varies a lot on a busy machine), so every
        # filing run is paired with a blob-only run just before it; ratios are per pair.
        blob_times: list[float] = []
        times: dict[tuple[str, str], list[float]] = {key: [] for key in todo}
        ratios: dict[tuple[str, str], list[float]] = {key: [] for key in todo}
        for _ in range(repeat):
            for key in todo:
                blob_seconds = blob_only(paths)
                seconds = measure[key[1]](key[0], paths)
                blob_times.append(blob_seconds)
                times[key].append(seconds)
                ratios[key].append(blob_seconds / seconds)
                print(f"  run [{key[0]}] {key[1]}: {count / seconds:,.1f} docs/s, blob-only "
                      f"{count / blob_seconds:,.0f} files/s, ratio {blob_seconds / seconds:.2f}")
        blob_rate = count / median(blob_times)
        print(f"blob-only (LocalBlobStore, fsync): {blob_rate:,.0f} files/s; "
              f"{fmt_runs(blob_times)}")
        print("summary: docs/s (median of runs) and ratio filing/blob-only (median of pairs):")
        for key in todo:
            rate = count / median(times[key])
            print(f"  {key[0]:10s} {key[1]:3s} {rate:9,.1f} docs/s  ratio {median(ratios[key]):.2f}"
                  f"   ({fmt_runs(times[key])})")
        print("SQL per filed document (engine events, indexing included):")
        for backend, (per_doc, single) in SQL_COST.items():
            print(f"  {backend:10s} batch of {count}: {per_doc} per document")
            print(f"  {backend:10s} one file_document in a fresh session: {single}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
