"""A process killed (SIGKILL) while filing and indexing: verify, reindex, everything findable.

The child files 3 000 short German notes in sessions of 50 with the Whoosh backend indexing
after every commit, and is killed part-way (possibly inside a commit or an index write).
Afterwards the audit chain and every blob verify, ``eakte reindex`` brings the index up to
date, and every document the database committed is found by the unique word it contains.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import eakte

TOTAL, PER_SESSION, KILL_AFTER = 3000, 50, 1000
TEXT = ("Aktenvermerk Nr. {i}: Ortstermin in der Lindenstraße mit Familie Müller, "
        "Kennung qzx{i:05d}; die Stellungnahme des Straßenbauamts liegt vor.")

CHILD = textwrap.dedent(
    """
    import sys
    import eakte

    folder, az, total, per, text = sys.argv[1:6]
    total, per = int(total), int(per)
    store = eakte.open(folder, create=False)
    for start in range(0, total, per):
        with store.session() as s:
            akte = s.get_akte(az)
            for i in range(start, min(start + per, total)):
                s.file_document(akte, text.format(i=i).encode(), flush=False,
                                filename=f"vermerk-{i:05d}.txt")
        print(min(start + per, total), flush=True)
    """
)


def test_kill_during_indexed_ingest_then_reindex_finds_every_committed_document(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    with eakte.init(folder, search="whoosh") as store, store.session() as s:
        s.add_plan_unit("1", "Allgemeines")
        az = s.create_akte("1", "Sammelakte Ortstermine").aktenzeichen
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), az, str(TOTAL), str(PER_SESSION), TEXT],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    printed = 0
    while printed < KILL_AFTER:
        line = child.stdout.readline()
        assert line, child.communicate()[1]
        printed = int(line)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL

    with eakte.open(folder, create=False) as store:
        report = store.verify()
        assert report.ok, report.problems  # no tampering, no loss: at most notices
        # leftovers that repair/reindex clear: an orphan blob, index entries not yet written
        assert {p.kind for p in report.notices} <= {
            "blob.orphan", "index.missing", "index.stale", "index.rebuild_needed",
            "index.unavailable"}, report.notices
        with store.session() as s:
            titles = [d.title for d in s.documents(s.get_akte(az))]
    numbers = sorted(int(t[len("vermerk-"):-len(".txt")]) for t in titles)
    committed = len(numbers)
    assert numbers == list(range(committed))  # whole sessions only, in order
    assert committed % PER_SESSION == 0 and printed <= committed < TOTAL

    done = subprocess.run([sys.executable, "-m", "eakte", "--store", str(folder), "reindex"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    with eakte.open(folder, create=False) as store:
        with store.session() as s:
            ids = {d.title: d.id for d in s.documents(s.get_akte(az))}
            missing = []
            for i in numbers:
                result = s.search(f"qzx{i:05d}", limit=2)
                if [h.document_id for h in result.hits] != [ids[f"vermerk-{i:05d}.txt"]]:
                    missing.append(i)
        assert missing == []
        report = store.verify(blobs=False)
        assert report.ok and not [p for p in report.notices if p.kind.startswith("index.")]
