"""Idempotent filing for Fachverfahren adapters: cases and documents under external keys.

A Fachverfahren knows its objects by its own ids; eakte stores those ids as external keys
(``system``, object id[, document id[, version label]]) in the same transaction as the
objects they name. Filing the same key again therefore returns what exists (``unchanged``),
changed content under a known document key becomes a new version (``new_version``), and a
batch commits item by item, so a crash loses nothing already committed and a rerun
duplicates nothing.

Example:
    >>> import eakte, tempfile
    >>> from eakte.filing import CaseRecord, DocumentRecord, Filer
    >>> store = eakte.open(tempfile.mkdtemp())
    >>> with store.session() as s:
    ...     _ = s.add_plan_unit("630", "Bauordnung")
    ...     akte = s.create_akte("630", "Neubau Lindenstraße 4")
    >>> filer = Filer(store, "bauportal")
    >>> case = CaseRecord("BA-2026-117", aktenzeichen=akte.aktenzeichen,
    ...                   documents=[DocumentRecord("antrag", b"Antrag", filename="a.txt")])
    >>> filer.file_case(case).status, filer.file_case(case).status
    (<FilingStatus.CREATED: 'created'>, <FilingStatus.UNCHANGED: 'unchanged'>)
    >>> store.close()
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, BinaryIO

from eakte._filing import Prepared, file_case_in, find_ref
from eakte._filing_types import (
    MAX_ID,
    CaseRecord,
    DocumentRecord,
    ExternalKey,
    FilingResult,
    FilingStatus,
    check_id,
    failed,
    item_error,
)
from eakte.errors import EakteError, InvalidInput, NotFoundError, StateConflict
from eakte.model import Version

if TYPE_CHECKING:
    from eakte.feed import FeedPage
    from eakte.mapping import FieldMapping
    from eakte.model import Akte, Document, Vorgang
    from eakte.session import Session
    from eakte.store import Store

__all__ = [
    "CaseRecord",
    "DocumentRecord",
    "ExternalKey",
    "Filer",
    "FilingResult",
    "FilingStatus",
    "item_error",
]


class Filer:
    """Files cases of one Fachverfahren (``system``) into a store, idempotently.

    Every case is one transaction in a session of ``user``: its Akte (found or created by
    the mapping), its Vorgang, documents, versions and external keys commit together with
    their audit events, or not at all.

    Example:
        >>> filer = Filer(store, "bauportal", mapping=FieldMapping.from_file("map.json"))
        >>> result = filer.file_case(CaseRecord("BA-1", fields={...}, documents=[...]))
        >>> filer.read(ExternalKey("bauportal", "BA-1", "antrag"))       # newest version

    Args:
        store: the store to file into.
        system: the Fachverfahren's name in external keys (e.g. ``"bauportal"``).
        mapping: how fields become Akte/Vorgang/document metadata.
        user: the principal to act as (default: the store's administrator). It needs the
            editor role on the target Akten or Aktenplan units and the owner role on
            ``system:SYSTEM`` (the system's external ids); without that every case fails
            with ``AccessDenied`` and every lookup by key raises it.
        retries: how often an item is retried after a conflicting concurrent commit.

    Raises:
        InvalidInput: ``system`` is empty or malformed.
    """

    def __init__(self, store: Store, system: str, *, mapping: FieldMapping | None = None,
                 user: str | None = None, retries: int = 1) -> None:
        self.store = store
        self.system = check_id(system, "system", 100)
        self.mapping = mapping
        self.user = user
        self.retries = max(0, retries)

    def session(self) -> Session:
        """Return a new session acting as the filer's user.

        Raises:
            NotFoundError: no such user.
        """
        return self.store.session(self.user)

    def key(self, object_id: str, document_id: str | None = None,
            version: str | None = None) -> ExternalKey:
        """Return the external key of a case, document or version of this system.

        Raises:
            InvalidInput: an id is empty, too long or has control characters.
        """
        return ExternalKey(self.system, object_id, document_id, version)

    # -- filing --------------------------------------------------------------------------

    def file_case(self, case: CaseRecord) -> FilingResult:
        """File one case in its own transaction; never duplicates a key filed before.

        Problems of the item (invalid input, closed Akte, missing rights) come back as a
        ``failed`` result with the error, not as an exception.
        """
        return self._file_group([case])[0]

    def file_cases(
        self,
        cases: Iterable[CaseRecord],
        *,
        group_size: int = 1,
        progress: Callable[[int, FilingResult], None] | None = None,
    ) -> list[FilingResult]:
        """File many cases, committing each (or each group of ``group_size``) on its own.

        A crash mid-batch keeps every committed item; running the batch again skips those
        (``unchanged``). If an item of a group fails, the group is rolled back and its items
        are filed one by one, so one bad item never holds back the others.

        Args:
            cases: the cases, consumed lazily.
            group_size: cases per transaction (1 = each on its own; more is faster for
                many small cases).
            progress: called as ``progress(done, result)`` after each case.

        Returns:
            One result per case, in order.
        """
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise InvalidInput(f"group_size must be a positive whole number, not {group_size!r}")
        results: list[FilingResult] = []
        iterator = iter(cases)
        while group := list(itertools.islice(iterator, group_size)):
            for result in self._file_group(group):
                results.append(result)
                if progress is not None:
                    progress(len(results), result)
        return results

    def _file_group(self, group: Sequence[CaseRecord]) -> list[FilingResult]:
        """File a group in one transaction, or item by item if any of it fails."""
        keys: list[ExternalKey | EakteError] = []
        prepared: list[Prepared | EakteError] = []
        for case in group:
            try:
                keys.append(self.key(case.object_id))
                prepared.append(Prepared.of(case, self.store.max_file_size))
            except Exception as exc:  # one case's problem, also an unexpected one
                error = item_error(exc, f"case {getattr(case, 'object_id', '?')!r}")
                if len(keys) == len(prepared):
                    keys.append(error)
                prepared.append(error)
        try:
            ready = [p for p in prepared if isinstance(p, Prepared)]
            if len(group) > 1 and len(ready) == len(group):
                try:
                    with self.session() as s:
                        return [file_case_in(s, self, case, prep)
                                for case, prep in zip(group, ready, strict=True)]
                except Exception:  # any failure: file them one by one below, so that the
                    ready = []  # good ones land and each bad one gets its own result
            return [
                self._file_one(case, key, prep)
                for case, key, prep in zip(group, keys, prepared, strict=True)
            ]
        finally:
            for prep in prepared:
                if isinstance(prep, Prepared):
                    prep.close()

    def _file_one(self, case: CaseRecord, key: ExternalKey | EakteError,
                  prepared: Prepared | EakteError) -> FilingResult:
        if isinstance(key, EakteError):
            return failed(ExternalKey(self.system, "?"), key)
        if isinstance(prepared, EakteError):
            return failed(key, prepared)
        for attempt in range(self.retries + 1):
            try:
                with self.session() as s:
                    return file_case_in(s, self, case, prepared)
            except StateConflict as exc:
                # a concurrent writer may have filed the same key: look again
                if attempt == self.retries:
                    return failed(key, exc)
            except Exception as exc:  # this item's failure, never the batch's
                return failed(key, item_error(exc, f"case {key.object_id!r}"))
        raise AssertionError("unreachable")  # pragma: no cover

    def attempt(self, item: str, work: Callable[[], FilingResult]) -> FilingResult:
        """Run ``work`` for one item of an adapter's input and return its result.

        Whatever goes wrong inside ``work`` (reading, parsing, mapping, filing) becomes the
        ``failed`` result of this item, with the error (see :func:`item_error`); the
        caller goes on with the next item. ``KeyboardInterrupt`` still ends the run.

        Args:
            item: names the item, e.g. its file name; the key of a failed result is
                ``system:item`` (shortened, control characters dropped).
            work: reads the item and files it, usually ``lambda: filer.file_case(...)``.
        """
        try:
            return work()
        except Exception as exc:  # the item's failure, never the run's
            return failed(self._item_key(item), item_error(exc, item))

    def _item_key(self, item: str) -> ExternalKey:
        label = "".join(ch for ch in item if ord(ch) >= 32 and ord(ch) != 127).strip()
        try:
            return self.key(label[:MAX_ID] or "?")
        except InvalidInput:
            return self.key("?")

    # -- retrieval -----------------------------------------------------------------------

    def _as_key(self, key: ExternalKey | str, document_id: str | None = None) -> ExternalKey:
        if isinstance(key, ExternalKey):
            return key
        return self.key(key, document_id)

    def get_vorgang(self, object_id: str) -> Vorgang:
        """Return the Vorgang filed for the case ``object_id``.

        Raises:
            NotFoundError: no case of this system has that id (or the user may not see it).
        """
        key = self.key(object_id)
        with self.session() as s:
            found = find_ref(s, self.system, "vorgang", key)
            if found is None:
                raise NotFoundError("Vorgang", str(key))
            return s.get_vorgang(found)

    def find_akte(self, key: str) -> Akte:
        """Return the Akte this system knows under the external key ``key``.

        Raises:
            NotFoundError: no such Akte (or the user may not see it).
        """
        with self.session() as s:
            return s.find_akte(self.system, key)

    def get_document(self, key: ExternalKey | str, document_id: str | None = None) -> Document:
        """Return the document filed under ``key`` (or case id and ``document_id``).

        Raises:
            NotFoundError: nothing was filed under that key (or the user may not see it).
        """
        key = self._as_key(key, document_id)
        if key.document_id is None:
            raise InvalidInput(f"{key} names a case, not a document; give a document id")
        with self.session() as s:
            found = find_ref(s, key.system, "document", key)
            if found is None:
                raise NotFoundError("Document", str(key))
            return s.get_document(found)

    def get_version(self, key: ExternalKey, version: int | str | None = None) -> Version:
        """Return a version of the document under ``key``.

        Args:
            key: a document key; its ``version`` label selects the version if
                ``version`` is not given.
            version: eakte's version number (int) or the Fachverfahren's label (str);
                default: the key's label, else the newest version.

        Raises:
            NotFoundError: no such document or version.
        """
        with self.session() as s:
            return self._version_in(s, key, version)[1]

    def _version_in(self, s: Session, key: ExternalKey, version: int | str | None
                    ) -> tuple[Document, Version]:
        if key.document_id is None:
            raise InvalidInput(f"{key} names a case, not a document; give a document id")
        doc_id = find_ref(s, key.system, "document", key)
        if doc_id is None:
            raise NotFoundError("Document", str(key))
        document = s.get_document(doc_id)
        wanted = key.version if version is None else version
        if isinstance(wanted, str):
            labelled = ExternalKey(key.system, key.object_id, key.document_id, wanted)
            ver_id = find_ref(s, key.system, "version", labelled)
            row = None if ver_id is None else s.unit_of_work.orm.get(Version, ver_id)
            if row is None or row.document_id != document.id:
                raise NotFoundError("Version", str(labelled))
            return document, row
        return document, s.get_version(document, wanted)

    def read(self, key: ExternalKey, version: int | str | None = None) -> bytes:
        """Return the content of a version of the document under ``key`` (audited read).

        Raises:
            NotFoundError: no such document or version.
            StateConflict: the Akte was disposed; its content was deleted.
            IntegrityError: the stored bytes do not match their SHA-256.
        """
        with self.session() as s:
            document, ver = self._version_in(s, key, version)
            return s.read_content(document, version=ver.number)

    def open(self, key: ExternalKey, version: int | str | None = None) -> BinaryIO:
        """Open the content of a version of the document under ``key`` (audited read).

        The stream checks the SHA-256 as it is read (see ``Session.open_content``).

        Raises:
            NotFoundError: no such document or version.
            StateConflict: the Akte was disposed; its content was deleted.
        """
        with self.session() as s:
            document, ver = self._version_in(s, key, version)
            return s.open_content(document, version=ver.number)

    # -- change feed ---------------------------------------------------------------------

    def changes(self, since: int = 0, *, limit: int = 500) -> FeedPage:
        """Return the changes after ``since`` that the filer's user may see.

        Raises:
            InvalidInput: ``since`` or ``limit`` out of range.
        """
        with self.session() as s:
            return s.changes(since, limit=limit)

    def feed_position(self, name: str) -> int:
        """Return the saved feed position of the follower ``name`` (0 if none)."""
        with self.session() as s:
            return s.feed_position(name)

    def save_feed_position(self, name: str, position: int) -> None:
        """Save (commit) the feed position of the follower ``name``.

        Raises:
            InvalidInput: an empty name or a negative position.
        """
        with self.session() as s:
            s.save_feed_position(name, position)
