"""xdomea 0503 export: memory stays flat whatever the Akte size (DESIGN.md §7).

For each size (1,000 and 10,000 small documents; --quick: 200 and 1,000) a store is filled
with one Akte whose documents are spread over ten Vorgänge (every tenth document has a
second version, every fiftieth a PDF/A rendition). The export then runs in a fresh child
process, twice:

* **rss**: peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of the
  child, and how far it rose above the resident size just before the export began
  (interpreter, lxml, SQLAlchemy, opened store and compiled XSD: ``/proc/self/status``);
  the export is timed in this run;
* **heap**: peak of Python allocations during the export (``tracemalloc``; C allocations of
  libxml2 are not seen there, which is why the RSS run exists).

The export writes a real container (XML through ``lxml.etree.xmlfile``, primary files
streamed from the blob store) and validates it in one streaming pass: against the official
XSD when the schema folder is available (``EAKTE_XDOMEA_SCHEMAS`` or ``../shared/xdomea``),
else with eakte's structural checks only. Flat memory means: growth and heap peak barely
change from 1,000 to 10,000 documents.

Run: ``.venv/bin/python benchmarks/bench_xdomea_export.py [--quick] [--sizes N,N]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "xdomea"


def _rss_kib() -> int:
    """Peak resident set size of this process so far (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_rss_kib() -> int:
    """Resident set size now (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return _rss_kib()


def child(args: argparse.Namespace) -> None:
    """Open the store, export the Akte once, print measurements as JSON."""
    import tracemalloc

    import eakte
    from eakte.exchange.xdomea import export_xdomea
    from eakte.exchange.xdomea.schema import load_schema, schema_folder

    store = eakte.open(args.store, create=False)
    folder = schema_folder(None)
    if folder is not None:
        load_schema(folder, "3.1.0")  # compile before measuring: a one-off, not per message
    out = Path(args.out)
    with store.session() as s:  # warm the session and the mapper configuration
        s.get_akte(args.az)
    before = _current_rss_kib()
    if args.heap:
        tracemalloc.start()
    t0 = time.perf_counter()
    with store.session() as s:
        result = export_xdomea(s, [args.az], message="0503", out_dir=out, record=False)
    seconds = time.perf_counter() - t0
    heap = tracemalloc.get_traced_memory()[1] if args.heap else None
    store.close()
    print(json.dumps({
        "seconds": seconds, "rss_before_kib": before, "rss_peak_kib": _rss_kib(),
        "heap_peak_bytes": heap, "zip_bytes": result.path.stat().st_size,
        "documents": result.counts["dokumente"], "files": result.counts["dateien"],
        "schema_validated": result.schema_validated,
    }))


def build(folder: Path, count: int) -> str:
    """Create a store with one closed Akte of ``count`` small documents; return its AZ."""
    import eakte

    blobs = eakte.LocalBlobStore(folder / "blobs", fsync=False)
    with eakte.init(folder, blobs=blobs, search="none") as store:
        with store.session() as s:
            s.add_plan_unit("630", "Bauordnung", retention_years=0, disposal="A")
            akte = s.create_akte("630", f"Großakte mit {count} Dokumenten")
            vorgaenge = [s.create_vorgang(akte, f"Vorgang {i + 1}") for i in range(10)]
        done = 0
        while done < count:
            with store.session() as s:
                for i in range(done, min(count, done + 1000)):
                    text = f"Aktenvermerk Nr. {i:06d} – Straßenbau Lindenstraße\n".encode()
                    doc = s.file_document(akte, text * 20, filename=f"vermerk-{i:06d}.txt",
                                          vorgang=vorgaenge[i % 10], flush=True)
                    if i % 10 == 0:
                        s.add_version(doc, text * 21, filename=f"vermerk-{i:06d}-v2.txt")
                    if i % 50 == 0:
                        s.add_rendition(s.get_version(doc), b"%PDF-1.7\n" + text,
                                        kind="pdfa", filename=f"vermerk-{i:06d}.pdf")
                done = min(count, done + 1000)
        return akte.aktenzeichen


def run_child(store: Path, az: str, out: Path, *, heap: bool) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--child", "--store", str(store), "--az", az,
           "--out", str(out)] + (["--heap"] if heap else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="sizes 200 and 1,000")
    parser.add_argument("--sizes", help="comma-separated document counts (default 1000,10000)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--heap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--az", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not os.environ.get("EAKTE_XDOMEA_SCHEMAS") and (SHARED / "xsd-3.1.0").is_dir():
        os.environ["EAKTE_XDOMEA_SCHEMAS"] = str(SHARED)
    sizes = ([int(n) for n in args.sizes.split(",")] if args.sizes
             else [200, 1000] if args.quick else [1000, 10000])
    print(f"== xdomea 0503 export memory{' (quick)' if args.quick else ''} ==")
    print(f"python {sys.version.split()[0]}, XSD validation: "
          f"{os.environ.get('EAKTE_XDOMEA_SCHEMAS') or 'off (structural checks only)'}")
    rows = []
    work = Path(tempfile.mkdtemp(prefix="eakte-bench-xdomea-"))
    try:
        for count in sizes:
            t0 = time.perf_counter()
            az = build(work / f"s{count}", count)
            built = time.perf_counter() - t0
            rss = run_child(work / f"s{count}", az, work / f"out{count}", heap=False)
            heap = run_child(work / f"s{count}", az, work / f"out{count}", heap=True)
            growth = (rss["rss_peak_kib"] - rss["rss_before_kib"]) / 1024
            rows.append((count, growth, heap["heap_peak_bytes"]))
            print(f"{count:>6} documents ({rss['files']} files, built in {built:.1f} s): "
                  f"export {rss['seconds']:.2f} s ({count / rss['seconds']:.0f} docs/s), "
                  f"zip {rss['zip_bytes'] / 1e6:.1f} MB, "
                  f"peak RSS {rss['rss_peak_kib'] / 1024:.1f} MiB "
                  f"(+{growth:.1f} MiB during export), Python heap peak "
                  f"{heap['heap_peak_bytes'] / 2**20:.1f} MiB, "
                  f"XSD-validated: {rss['schema_validated']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(rows) >= 2:
        (n1, g1, h1), (n2, g2, h2) = rows[0], rows[-1]
        print(f"ratio {n2}/{n1} documents = {n2 / n1:.0f}x: RSS growth {g2:.1f}/{g1:.1f} MiB, "
              f"heap peak {h2 / 2**20:.1f}/{h1 / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
