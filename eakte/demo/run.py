"""Run the end-to-end demonstration: a Kreisverwaltung's records in a fresh embedded store.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from eakte.demo.run import run_demo
    >>> result = run_demo(Path(tempfile.mkdtemp()), akten=2)
    >>> result.verify_ok
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import eakte
from eakte.crypto.masterkey import MasterKey
from eakte.demo.bauantrag import run_bauantrag
from eakte.demo.corpus import (
    KREISVERWALTUNG_PLAN,
    SampleAkte,
    SampleDocument,
    make_pdf,
    sample_akten,
)
from eakte.errors import IntegrityError, InvalidInput, StateConflict, StoreExistsError
from eakte.model import Document, Version
from eakte.store import CONFIG_NAME, Store
from eakte.verify import VerifyReport

__all__ = ["DEMO_USERS", "DemoResult", "DemoStep", "run_demo"]

#: The Sachbearbeiter the demo creates: (name, display name, org unit).
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("mueller", "Anna Müller", "Bauordnungsamt"),
    ("schaefer", "Jörg Schäfer", "Sozialamt"),
    ("registratur", "Zentrale Registratur", "Hauptamt"),
)

Out = Callable[[str], None]


@dataclass
class DemoStep:
    """One timed step of the demo.

    Attributes:
        name: what the step did, e.g. ``"file documents"``.
        count: how many things it handled.
        unit: what ``count`` counts, e.g. ``"documents"``.
        seconds: wall-clock time taken.
    """

    name: str
    count: int
    unit: str
    seconds: float

    @property
    def rate(self) -> float | None:
        """Things per second, or None when the step took no measurable time."""
        return self.count / self.seconds if self.seconds > 0 else None


@dataclass
class DemoResult:
    """What :func:`run_demo` did, for rendering and for tests and benchmarks.

    Attributes:
        store_path: the store folder the demo created.
        steps: every timed step in order.
        plan_units: Aktenplan units loaded.
        users: names of the users created.
        akten: Aktenzeichen of the Akten created.
        documents: documents filed.
        versions: versions in total (first versions included).
        renditions: further renditions added.
        content_bytes: bytes of content filed (all versions and renditions).
        closed_akte: the Akte closed (z.d.A.) during the demo.
        refused: the message with which filing into the closed Akte was refused.
        example_document: id of the document that got several versions.
        example_filename: the original file name of its first version.
        readback_ok: the bytes read back equal the bytes filed.
        searches: number of hits per demo query.
        fachverfahren: what the simulated Bauantrag Fachverfahren did (filing results,
            versions, change-feed events).
        verify: the final verification report.
    """

    store_path: Path
    steps: list[DemoStep] = field(default_factory=list)
    plan_units: int = 0
    users: list[str] = field(default_factory=list)
    akten: list[str] = field(default_factory=list)
    documents: int = 0
    versions: int = 0
    renditions: int = 0
    content_bytes: int = 0
    closed_akte: str | None = None
    refused: str | None = None
    example_document: int | None = None
    example_filename: str | None = None
    readback_ok: bool = False
    searches: dict[str, int] = field(default_factory=dict)
    fachverfahren: dict[str, Any] = field(default_factory=dict)
    verify: VerifyReport | None = None

    @property
    def verify_ok(self) -> bool:
        """True when the final verification found no error."""
        return self.verify is not None and self.verify.ok

    @property
    def seconds(self) -> float:
        """Total time of all steps."""
        return sum(step.seconds for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible summary."""
        return {
            "store": str(self.store_path),
            "ok": self.verify_ok and self.readback_ok,
            "seconds": round(self.seconds, 4),
            "steps": [
                {"name": s.name, "count": s.count, "unit": s.unit,
                 "seconds": round(s.seconds, 4),
                 "rate": round(s.rate, 1) if s.rate is not None else None}
                for s in self.steps
            ],
            "plan_units": self.plan_units,
            "users": self.users,
            "akten": self.akten,
            "documents": self.documents,
            "versions": self.versions,
            "renditions": self.renditions,
            "content_bytes": self.content_bytes,
            "closed_akte": self.closed_akte,
            "refused": self.refused,
            "example_document": self.example_document,
            "example_filename": self.example_filename,
            "readback_ok": self.readback_ok,
            "searches": dict(self.searches),
            "fachverfahren": dict(self.fachverfahren),
            "verify": self.verify.as_dict() if self.verify is not None else None,
        }


class _Timer:
    def __init__(self, result: DemoResult) -> None:
        self._result = result

    @contextmanager
    def step(self, name: str, unit: str) -> Iterator[DemoStep]:
        record = DemoStep(name, 0, unit, 0.0)
        start = time.perf_counter()
        try:
            yield record
        finally:
            record.seconds = time.perf_counter() - start
            self._result.steps.append(record)


def _silent(message: str) -> None:
    """Discard a progress note."""


#: Queries the demo runs: stemming, folding and compound parts at work.
DEMO_QUERIES: tuple[str, ...] = ("Anträge", "Genehmigung", "Strasse", "Widerspruch Frist")


def run_demo(directory: Path, *, akten: int = 12, seed: int = 2026,
             out: Out | None = None, master_key: MasterKey | None = None) -> DemoResult:
    """Create a store in ``directory`` and walk through the life of a Kreisverwaltung's records.

    Loads the Aktenplan, creates users, files Akten with Vorgänge and documents (PDF, text,
    e-mail), adds corrected versions and a PDF rendition, closes an Akte (z.d.A.) and shows
    that filing into it is refused, reads content back and verifies the whole store.

    Args:
        directory: a folder without a store (created if missing).
        akten: how many sample Akten to file.
        seed: seed of the sample corpus (same seed, same documents).
        out: called with one line of progress per step (default: silent).
        master_key: encrypt the store's blobs at rest under this master key file or provider.

    Returns:
        counts, timings and the verification report; the store is closed again.

    Raises:
        StoreExistsError: ``directory`` already holds an eakte store.
        InvalidInput: ``akten`` is less than 1.
        IntegrityError: content read back differs from what was filed.
    """
    say = out or _silent
    if akten < 1:
        raise InvalidInput(f"the demo needs at least one Akte, not {akten}")
    if (directory / CONFIG_NAME).exists():
        raise StoreExistsError(
            f"{str(directory)!r} already holds an eakte store; the demo needs a new folder "
            "(omit --dir to use a fresh temporary one)"
        )
    result = DemoResult(store_path=directory)
    timer = _Timer(result)
    with timer.step("create store", "stores") as step:
        store = eakte.init(directory, encrypt=master_key is not None, master_key=master_key)
        step.count = 1
    say(f"Created store at {directory}")
    try:
        _run_steps(store, result, timer, akten=akten, seed=seed, say=say)
    finally:
        store.close()
    return result


def _run_steps(store: Store, result: DemoResult, timer: _Timer, *, akten: int, seed: int,
               say: Out) -> None:
    with timer.step("load Aktenplan", "units") as step, store.session() as s:
        for unit in KREISVERWALTUNG_PLAN:
            s.add_plan_unit(unit.kennzeichen, unit.title, parent=unit.parent,
                            retention_years=unit.retention_years, disposal=unit.disposal)
        step.count = result.plan_units = len(KREISVERWALTUNG_PLAN)
    say(f"Loaded the Aktenplan: {result.plan_units} units")

    with timer.step("create users", "users") as step, store.session() as s:
        for name, display, org_unit in DEMO_USERS:
            s.add_user(name, display_name=display, org_unit=org_unit)
            result.users.append(name)
        # Rights go to the organisational units, not to persons: the clerks' units may
        # file and edit everywhere, the Registratur manages closing and Aussonderung.
        for _, _, org_unit in DEMO_USERS:
            s.grant(org_unit, "manager" if org_unit == "Hauptamt" else "editor", "*")
            s.grant(org_unit, "owner", "system:demo-fachverfahren")  # its external ids
        step.count = len(DEMO_USERS)
    say(f"Created users: {', '.join(result.users)}")

    with timer.step("generate sample documents", "documents") as step:
        samples = sample_akten(akten, seed=seed)
        step.count = sum(len(v.documents) for a in samples for v in a.vorgaenge)

    filed: list[_Filed] = []
    with timer.step("file Akten and documents", "documents") as step:
        for number, sample in enumerate(samples, 1):
            filed.extend(_file_akte(store, result, sample, number))
        step.count = result.documents = len(filed)
    result.versions = result.documents
    say(f"Filed {result.documents} documents in {len(result.akten)} Akten")

    history = _add_versions(store, result, timer, filed)
    say(f"Added {result.versions - result.documents} corrected versions and "
        f"{result.renditions} PDF rendition(s)")

    _close_and_refuse(store, result, timer)
    say(f"Closed {result.closed_akte} (z.d.A.); filing into it was refused as expected")

    with timer.step("read back and compare", "versions") as step, store.session("mueller") as s:
        result.readback_ok = True
        for document_id, number, data in history:
            if s.read_content(s.get_document(document_id), version=number) != data:
                raise IntegrityError(
                    f"document {document_id} version {number} reads back different bytes")
            step.count += 1
    say(f"Read back {step.count} versions: the bytes are identical")

    with timer.step("German full-text search", "queries") as step, store.session("mueller") as s:
        for query in DEMO_QUERIES:
            result.searches[query] = s.search(query, limit=5).total
            step.count += 1
    say("Searched: " + ", ".join(f"{q!r} → {n}" for q, n in result.searches.items()))

    with timer.step("Fachverfahren Bauantrag", "cases") as step:
        result.fachverfahren = run_bauantrag(store, out=lambda _line: None)  # summary below
        step.count = len(result.fachverfahren["filed"])
    say("Fachverfahren Bauantrag (adapter API): filed 3 applications, filed them again "
        f"({', '.join(result.fachverfahren['filed'])}), a correction became version "
        f"{result.fachverfahren['corrected_version']}, followed "
        f"{result.fachverfahren['feed_events']} change-feed events")

    with timer.step("verify store", "events") as step:
        result.verify = store.verify()
        step.count = result.verify.events
    say(f"Verified {result.verify.events} audit events and {result.verify.blobs} blobs: "
        + ("OK" if result.verify.ok else f"{len(result.verify.errors)} error(s)"))


@dataclass(frozen=True)
class _Filed:
    """A document the demo filed, with the bytes of its first version."""

    id: int
    title: str
    kind: str
    filename: str
    data: bytes


def _file_akte(store: Store, result: DemoResult, sample: SampleAkte,
               number: int) -> list[_Filed]:
    user, _, org_unit = DEMO_USERS[number % 2]
    filed: list[tuple[Document, SampleDocument]] = []
    with store.session(user) as s:
        akte = s.create_akte(sample.kennzeichen, sample.title, org_unit=org_unit,
                             external_ids=[("demo-fachverfahren", f"FV-{number:05d}")])
        for sample_vorgang in sample.vorgaenge:
            vorgang = s.create_vorgang(akte, sample_vorgang.title)
            for doc in sample_vorgang.documents:
                document = s.file_document(akte, doc.data, title=doc.title, kind=doc.kind,
                                           filename=doc.filename, vorgang=vorgang)
                filed.append((document, doc))
    result.akten.append(akte.aktenzeichen)
    result.content_bytes += sum(len(doc.data) for _, doc in filed)
    # document ids are final once the session has committed
    return [_Filed(d.id, doc.title, doc.kind, doc.filename, doc.data) for d, doc in filed]


def _pick_corrections(filed: list[_Filed]) -> list[_Filed]:
    """Prefer Bescheide (the classic correction), then other outgoing letters."""
    bescheide = [f for f in filed if "bescheid" in f.title.lower()]
    outgoing = [f for f in filed if f.kind == "outgoing" and f not in bescheide]
    rest = [f for f in filed if f not in bescheide and f not in outgoing]
    return (bescheide + outgoing + rest)[:3]


def _add_versions(store: Store, result: DemoResult, timer: _Timer,
                  filed: list[_Filed]) -> list[tuple[int, int, bytes]]:
    """Add corrected versions and one PDF rendition; return (document id, version, bytes)."""
    history: list[tuple[int, int, bytes]] = []
    picks = _pick_corrections(filed)
    with timer.step("add corrected versions", "versions") as step, store.session("mueller") as s:
        for index, pick in enumerate(picks):
            document = s.get_document(pick.id)
            history.append((pick.id, 1, pick.data))
            for correction in range(1, (3 if index == 0 else 2)):
                body = [
                    f"Berichtigung Nr. {correction} zu „{pick.title}“.",
                    "Der Bescheid wird wegen eines Schreibfehlers im Betreff berichtigt "
                    "(§ 42 VwVfG); die Rechtsbehelfsbelehrung wurde angepasst.",
                    "Im Übrigen bleibt es bei den bisherigen Festsetzungen.",
                ]
                data = make_pdf(f"{pick.title} (berichtigte Fassung {correction})", body)
                version = s.add_version(
                    document, data, filename=f"{Path(pick.filename).stem}-berichtigt-"
                    f"{correction}.pdf",
                    comment=f"Berichtigung {correction}: Schreibfehler im Betreff")
                history.append((pick.id, version.number, data))
                result.content_bytes += len(data)
                step.count += 1
        result.versions += step.count
        if picks:
            result.example_document = picks[0].id
            result.example_filename = picks[0].filename
    texts = [f for f in filed if f.filename.endswith(".txt") and f not in picks]
    with timer.step("add PDF rendition", "renditions") as step, store.session("schaefer") as s:
        if texts:
            note = texts[0]
            first: Version = s.get_version(s.get_document(note.id), 1)
            paragraphs = [p for p in note.data.decode("utf-8").split("\n\n") if p.strip()]
            pdf = make_pdf(note.title, paragraphs)
            s.add_rendition(first, pdf, kind="pdf", filename=f"{Path(note.filename).stem}.pdf")
            result.content_bytes += len(pdf)
            step.count = result.renditions = 1
    return history


def _close_and_refuse(store: Store, result: DemoResult, timer: _Timer) -> None:
    with timer.step("close Akte (z.d.A.)", "Akten") as step:
        with store.session("registratur") as s:
            akte = s.get_akte(result.akten[-1])
            s.close_akte(akte)
            step.count = 1
        result.closed_akte = akte.aktenzeichen
        try:
            with store.session("mueller") as s:
                s.file_document(s.get_akte(akte.aktenzeichen), b"Nachtrag nach z.d.A.",
                                filename="nachtrag.txt")
        except StateConflict as exc:
            result.refused = str(exc)
        else:  # pragma: no cover - would be a bug in eakte
            raise IntegrityError(f"filing into the closed Akte {akte.aktenzeichen} succeeded")
