"""Version cost: adding version 2 vs. version 1,000 of one document.

For SQLite and PostgreSQL (after a short untimed warm-up on another document), one
document gets versions 2..(1+N) one per session (each session opens, loads the document,
adds one small version and commits, timed individually, including the search index update
after commit); then it is filled up quickly to version HIGH-1 in large sessions, and
versions HIGH..(HIGH+N-1) are timed one per session again. Reports median ms/version for
both ranges and their ratio (the design target is a ratio of about 1.0: the version number
comes from a per-document counter, not from counting or loading existing versions).

Run: ``.venv/bin/python benchmarks/bench_versions.py [--quick] [--n N] [--high H]``
"""

from __future__ import annotations

import statistics
import time

from _common import backends, header, median, parse_args, pg_available, temp_store

import eakte


def content(number: int) -> bytes:
    return (f"Bescheid über den Bauantrag Lindenstraße 4, Fassung Nr. {number}.\n"
            "Die Genehmigung wird unter Auflagen erteilt; Widerspruch binnen eines Monats.\n"
            ).encode() * 8


def one_version(store: eakte.Store, doc_id: int, number: int) -> float:
    t0 = time.perf_counter()
    with store.session() as s:
        version = s.add_version(s.get_document(doc_id), content(number),
                                filename=f"bescheid-v{number}.txt")
    seconds = time.perf_counter() - t0
    assert version.number == number, (version.number, number)
    return seconds


def run_backend(backend: str, n: int, high: int, warm_up: int = 10
                ) -> tuple[list[float], list[float]]:
    with temp_store(backend) as store:
        with store.session() as s:
            s.add_plan_unit("630.10", "Baugenehmigungen")
            akte = s.create_akte("630.10", "Benchmark Versionen")
            doc = s.file_document(akte, content(1), filename="bescheid.txt")
            warm = s.file_document(akte, content(0), filename="warm-up.txt")
        # warm up connection pool, statement caches and the database's buffers (not timed)
        for v in range(2, 2 + warm_up):
            one_version(store, warm.id, v)
        low_times = [one_version(store, doc.id, v) for v in range(2, 2 + n)]
        # fill up to high - 1 in big sessions (not timed)
        number = 2 + n
        while number < high:
            with store.session() as s:
                d = s.get_document(doc.id)
                for _ in range(min(250, high - number)):
                    s.add_version(d, content(number), filename=f"bescheid-v{number}.txt")
                    number += 1
        high_times = [one_version(store, doc.id, v) for v in range(high, high + n)]
        with store.session() as s:
            assert s.get_document(doc.id).version_count == high + n - 1
        return low_times, high_times


def main() -> None:
    def extra(parser):
        parser.add_argument("--n", type=int, default=None, help="versions timed per range")
        parser.add_argument("--high", type=int, default=None,
                            help="first version number of the high range (default 1000)")

    args = parse_args(__doc__.splitlines()[0], extra)
    n = args.n or (5 if args.quick else 50)
    high = args.high or (30 if args.quick else 1000)
    repeat = args.repeat or (1 if args.quick else 3)
    header(f"bench_versions: versions 2..{1 + n} vs {high}..{high + n - 1}", args.quick)
    for backend in backends(args.backend):
        if backend == "postgresql":
            ok, reason = pg_available()
            if not ok:
                print(f"NOTE: PostgreSQL skipped, unreachable: {reason}")
                continue
        lows, highs, ratios = [], [], []
        for _ in range(repeat):
            low, hi = run_backend(backend, n, high, warm_up=3 if args.quick else 10)
            lows.append(statistics.median(low) * 1000)
            highs.append(statistics.median(hi) * 1000)
            ratios.append(highs[-1] / lows[-1])
            print(f"[{backend}]   run: v2.. {lows[-1]:.2f} ms/version (mean "
                  f"{statistics.mean(low) * 1000:.2f}), v{high}.. {highs[-1]:.2f} ms/version "
                  f"(mean {statistics.mean(hi) * 1000:.2f}), ratio {ratios[-1]:.2f}")
        print(f"[{backend}] median over {repeat} run(s): version 2..{1 + n}: "
              f"{median(lows):.2f} ms/version; version {high}..{high + n - 1}: "
              f"{median(highs):.2f} ms/version; ratio high/low {median(ratios):.2f}")


if __name__ == "__main__":
    main()
