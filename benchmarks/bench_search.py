"""German full-text search: eakte ingest vs raw Whoosh indexing, query latency, index size.

Measured on one generated German corpus of ~2 KB documents (eakte.demo.corpus.sample_files,
built from a hand-written bank of administrative German, not lorem ipsum):

* raw Whoosh: the same analyzer and fields, written straight into a Whoosh index in batches
  of 500 documents per commit (the unavoidable indexing work);
* eakte ingest: ``Session.file_documents`` in batches of 500 files (blob write with fsync,
  MIME sniffing, rows, audit events, outbox) plus the indexer that extracts the text again
  from the blobs and indexes it after each commit — the whole path a clerk's upload takes;
* the ratio raw/eakte of the time per document (goal: eakte reaches >= 0.7 of the raw rate);
* query latency p50/p95 over 1-3 term queries at each corpus size (goal p95 <= 50 ms at
  100k);
* index size vs corpus size, and the cost of compound splitting (raw Whoosh with and
  without decompounding).

Usage: ``python benchmarks/bench_search.py [--quick] [--sizes 10000,100000]``
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from whoosh.fields import ID, TEXT, Schema
from whoosh.index import create_in

import eakte
from eakte.demo.corpus import sample_files
from eakte.search.analysis import german_analyzer

BATCH = 500
QUERIES_1 = ["Baugenehmigung", "Müller", "Strasse", "Anträge", "Digitalisierung", "Bescheid",
             "Widerspruch", "Gebühren", "Antrag", "Grundstück", "Mueller", "Genehmigungen"]
QUERIES_2 = ["Antrag Genehmigung", "Bescheid Gebühren", "Müller Straße", "Bauantrag Prüfung",
             "Widerspruch Frist"]
QUERIES_3 = ["Antrag Genehmigung Unterlagen", "Bescheid Gebühren Zahlung",
             "Prüfung Unterlagen Bauordnung"]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_corpus(folder: Path, count: int) -> tuple[list[Path], int]:
    folder.mkdir(parents=True)
    paths = []
    total = 0
    for name, data in sample_files(count, seed=11, size=2048):
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
        total += len(data)
    return paths, total


def raw_whoosh(paths: list[Path], index_dir: Path, *, decompound: bool) -> float:
    analyzer = german_analyzer(decompound=decompound)
    schema = Schema(document_id=ID(stored=True, unique=True), title=TEXT(analyzer=analyzer),
                    content=TEXT(analyzer=analyzer))
    index_dir.mkdir(parents=True)
    ix = create_in(str(index_dir), schema)
    start = time.perf_counter()
    for i in range(0, len(paths), BATCH):
        writer = ix.writer(limitmb=64)
        for n, path in enumerate(paths[i:i + BATCH], i):
            writer.add_document(document_id=str(n), title=path.name,
                                content=path.read_bytes().decode("utf-8"))
        writer.commit()
    elapsed = time.perf_counter() - start
    ix.close()
    return elapsed


def eakte_ingest(paths: list[Path], store_dir: Path) -> tuple[float, eakte.Store]:
    store = eakte.init(store_dir)
    with store.session() as s:
        s.add_plan_unit("1", "Allgemeine Verwaltung")
        akte = s.create_akte("1", "Sammelakte Benchmark")
    start = time.perf_counter()
    for i in range(0, len(paths), BATCH):
        with store.session() as s:
            s.file_documents(akte, paths[i:i + BATCH])
        # the commit indexed the batch (auto_index); nothing may be left behind
    elapsed = time.perf_counter() - start
    indexer = store.indexer
    assert indexer is not None and indexer.pending() == 0
    return elapsed, store


def latencies(store: eakte.Store, rounds: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    rng = random.Random(5)
    with store.session() as s:
        s.search("Antrag")  # warm the searcher once
        for label, queries in (("1 term", QUERIES_1), ("2 terms", QUERIES_2),
                               ("3 terms", QUERIES_3)):
            times = []
            for _ in range(rounds):
                q = rng.choice(queries)
                t0 = time.perf_counter()
                s.search(q, limit=20)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    return out


def run(size: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="eakte-bench-search-"))
    try:
        paths, corpus_bytes = write_corpus(tmp / "corpus", size)
        raw = raw_whoosh(paths, tmp / "raw", decompound=True)
        raw_plain = raw_whoosh(paths, tmp / "raw-plain", decompound=False)
        ingest, store = eakte_ingest(paths, tmp / "store")
        try:
            lat = latencies(store, rounds)
            index_bytes = folder_size(tmp / "store" / "index")
        finally:
            store.close()
        raw_size = folder_size(tmp / "raw")
        plain_size = folder_size(tmp / "raw-plain")
        print(f"\n== {size:,} documents, corpus {corpus_bytes / 1e6:.1f} MB ==")
        print(f"raw Whoosh (same analyzer):     {size / raw:8.0f} docs/s")
        print(f"eakte ingest (store+extract+audit+index): {size / ingest:8.0f} docs/s")
        print(f"ratio eakte/raw:                {raw / ingest:8.2f}   (goal >= 0.70)")
        print(f"compound splitting cost:        {raw / raw_plain - 1:+8.1%} time, "
              f"{raw_size / plain_size - 1:+.1%} index size")
        print(f"index size / corpus size:       {index_bytes / corpus_bytes:8.2f} "
              f"({index_bytes / 1e6:.1f} MB; raw Whoosh {raw_size / 1e6:.1f} MB)")
        for label, (p50, p95) in lat.items():
            print(f"query {label:<8} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (goal p95 <= 50)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 documents, few queries")
    parser.add_argument("--sizes", default="10000,100000",
                        help="comma-separated corpus sizes (default 10000,100000)")
    parser.add_argument("--rounds", type=int, default=200, help="queries per term count")
    args = parser.parse_args()
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        run(size, 20 if args.quick else args.rounds)


if __name__ == "__main__":
    main()
