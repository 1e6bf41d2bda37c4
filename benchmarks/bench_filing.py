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


def prepare(store: eakte.Store) -> str:
    with store.session() as s:
        s.add_plan_unit(KENNZEICHEN, "Baugenehmigungen", retention_years=30)
        akte = s.create_akte(KENNZEICHEN, "Benchmark Lindenstraße 4")
    return akte.aktenzeichen


def api_filing(backend: str, paths: list[Path]) -> float:
    with temp_store(backend) as store:
        az = prepare(store)

        def run() -> int:
            with store.session() as s:
                docs = s.file_documents(s.get_akte(az), paths)
            return len(docs)

        seconds, n = timed(run)
        assert n == len(paths)
        with store.session() as s:
            assert len(s.documents(s.get_akte(az))) == len(paths)
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
    count = args.count or (100 if args.quick else 2000)
    repeat = args.repeat or (1 if args.quick else 3)
    header(f"bench_filing: {count} files in one add", args.quick)

    work = Path(tempfile.mkdtemp(prefix="eakte-bench-files-"))
    try:
        files = german_files(count)
        assert len({data for _, data in files}) == count, "files must be distinct"
        paths = write_files(work / "in", files)
        avg = sum(len(d) for _, d in files) / count
        print(f"corpus: {count} distinct files, average {avg:.0f} bytes")

        runs = [blob_only(paths) for _ in range(repeat)]
        blob_rate = count / median(runs)
        print(f"blob-only (LocalBlobStore, fsync): {blob_rate:,.0f} files/s; {fmt_runs(runs)}")

        cli_ok, why = (False, "--no-cli given") if args.no_cli else cli_works()
        if cli_ok:
            startups = [cli_startup() for _ in range(repeat)]
            print(f"cli start-up ('eakte --help'): {fmt_runs(startups)}")
        else:
            print(f"NOTE: CLI not measured, API only: {why}")

        summary = []
        for backend in backends(args.backend):
            if backend == "postgresql":
                ok, reason = pg_available()
                if not ok:
                    print(f"NOTE: PostgreSQL skipped, unreachable: {reason}")
                    continue
            runs = [api_filing(backend, paths) for _ in range(repeat)]
            rate = count / median(runs)
            summary.append((backend, "api", rate))
            print(f"[{backend}] api file_documents: {rate:,.1f} docs/s; {fmt_runs(runs)}; "
                  f"ratio api/blob-only {rate / blob_rate:.2f}")
            if cli_ok:
                runs = [cli_filing(backend, work / "in", count) for _ in range(repeat)]
                rate = count / median(runs)
                summary.append((backend, "cli", rate))
                print(f"[{backend}] cli 'eakte add': {rate:,.1f} docs/s; {fmt_runs(runs)}; "
                      f"ratio cli/blob-only {rate / blob_rate:.2f}")
        print("summary (docs/s, ratio to blob-only):")
        for backend, how, rate in summary:
            print(f"  {backend:10s} {how:3s} {rate:9,.1f}  {rate / blob_rate:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
