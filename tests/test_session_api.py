"""The Session's public API is pinned: its methods, their parameters, and their docs.

The Session is a facade: each method delegates to an operation in :mod:`eakte.ops`. These
tests fail when a method appears, disappears or changes its parameters, and check that
write operations declare themselves to the unit of work before anything else.
"""

from __future__ import annotations

import ast
import enum
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import eakte.ops
from eakte._unit_of_work import UnitOfWork
from eakte.session import Session

#: Every public member of Session: properties, or a method's parameters (``name=default``,
#: ``*`` before the keyword-only ones).
PINNED: dict[str, Any] = {
    "access": "property",
    "add_group": ("self", "name", "*", "kind=PrincipalKind.GROUP", "display_name=None"),
    "add_member": ("self", "member", "group"),
    "add_plan_unit": (
        "self", "kennzeichen", "title", "*", "parent=None", "retention_years=10",
        "disposal=DisposalDecision.APPRAISE",
    ),
    "add_rendition": ("self", "version", "source", "*", "kind", "filename=None"),
    "add_user": (
        "self", "name", "*", "display_name=None", "org_unit=None", "groups=()", "is_admin=False",
        "clearance=Confidentiality.OPEN",
    ),
    "add_version": (
        "self", "document", "source", "*", "filename=None", "comment=None",
        "allow_identical=False",
    ),
    "appraise_by_default": ("self", "akte", "*", "reason=None"),
    "audit_count": ("self",),
    "audit_events": ("self", "*", "since=0", "limit=None", "object_type=None", "object_id=None"),
    "changes": ("self", "since=0", "*", "limit=500"),
    "close": ("self",),
    "close_akte": ("self", "akte"),
    "close_vorgang": ("self", "vorgang"),
    "commit": ("self",),
    "confirm_transfer": ("self", "akte", "archivkennung", "*", "message_id=None"),
    "create_akte": (
        "self", "kennzeichen", "title", "*", "org_unit=None",
        "confidentiality=Confidentiality.OPEN", "external_ids=()", "metadata=None", "year=None",
    ),
    "create_vorgang": ("self", "akte", "title", "*", "parent=None", "metadata=None"),
    "destroy": ("self", "akte"),
    "disposal_due": ("self", "as_of=None"),
    "disposal_status": ("self", "akte", "*", "as_of=None"),
    "documents": ("self", "akte"),
    "external_ids": ("self", "akte"),
    "feed_position": ("self", "name"),
    "file_document": (
        "self", "akte", "source", "*", "title=None", "vorgang=None", "kind=DocumentKind.INTERNAL",
        "filename=None", "document_date=None", "metadata=None", "comment=None", "parent=None",
        "flush=True",
    ),
    "file_documents": (
        "self", "akte", "sources", "*", "vorgang=None", "title=None", "kind=DocumentKind.INTERNAL",
        "progress=None",
    ),
    "find_akte": ("self", "system", "external_id"),
    "find_vorgang": ("self", "akte", "title"),
    "get_akte": ("self", "key"),
    "get_document": ("self", "document_id"),
    "get_plan_unit": ("self", "kennzeichen"),
    "get_version": ("self", "document", "number=None"),
    "get_vorgang": ("self", "vorgang_id"),
    "grant": ("self", "principal", "role", "target=None"),
    "grants": ("self", "principal=None"),
    "holds": ("self", "akte"),
    "index_progress": "settable property",
    "latest_versions": ("self", "akte"),
    "list_akten": ("self", "*", "kennzeichen=None", "query=None", "status=None"),
    "mark_exported": ("self", "akten", "message_id"),
    "mark_offered": ("self", "akten", "message_id"),
    "open_content": ("self", "document", "*", "version=None", "rendition=None"),
    "permissions": ("self", "akte"),
    "plan_units": ("self",),
    "principal": "property",
    "principals": ("self",),
    "read_content": ("self", "document", "*", "version=None", "rendition=None"),
    "record_appraisal": (
        "self", "akte", "decision", "*", "message_id=None", "reason=None", "on_paper=False",
    ),
    "release_hold": ("self", "akte", "reason=None", "*", "hold=None"),
    "renditions": ("self", "version"),
    "reopen_akte": ("self", "akte"),
    "reopen_vorgang": ("self", "vorgang"),
    "require_store_job": ("self", "job"),
    "require_system": ("self", "system"),
    "retention_until": ("self", "akte"),
    "retention_years": ("self", "akte"),
    "revoke": ("self", "principal", "role", "target=None"),
    "rollback": ("self",),
    "save_feed_position": ("self", "name", "position"),
    "search": ("self", "text", "*", "limit=20", "akte=None", "order='relevance'"),
    "set_clearance": ("self", "name", "clearance"),
    "set_hold": ("self", "akte", "reason"),
    "set_retention": ("self", "akte", "years"),
    "unit_of_work": "property",
    "update_akte": ("self", "akte", "*", "title=None", "metadata=None"),
    "update_document": ("self", "document", "*", "title=None", "metadata=None", "kind=None"),
    "user": "property",
    "versions": ("self", "document"),
    "vorgaenge": ("self", "akte"),
}

#: The operations that write (they call ``uow.begin_write()`` as their first step).
WRITES = frozenset({
    "add_group", "add_member", "add_plan_unit", "add_rendition", "add_user", "add_version",
    "appraise_by_default", "close_akte", "close_vorgang", "confirm_transfer", "create_akte",
    "create_vorgang", "destroy", "file_document", "file_documents", "grant", "mark_exported",
    "mark_offered", "record_appraisal", "release_hold", "reopen_akte", "reopen_vorgang",
    "revoke", "save_feed_position", "set_clearance", "set_hold", "set_retention",
    "update_akte", "update_document",
})


def _render(fn: Any) -> tuple[str, ...]:
    out: list[str] = []
    star = False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            out.append("*" + p.name)
            star = True
            continue
        if p.kind is p.VAR_KEYWORD:
            out.append("**" + p.name)
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            out.append("*")
            star = True
        text = p.name
        if p.default is not p.empty:
            d = p.default
            text += "=" + (f"{type(d).__name__}.{d.name}" if isinstance(d, enum.Enum)
                           else repr(d))
        out.append(text)
    return tuple(out)


def _public_members() -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name in dir(Session):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(Session, name)
        if isinstance(attr, property):
            members[name] = "settable property" if attr.fset else "property"
        else:
            members[name] = _render(getattr(Session, name))
    return members


def _operations() -> dict[str, ast.FunctionDef]:
    """Return every public function of the eakte.ops modules, parsed."""
    found: dict[str, ast.FunctionDef] = {}
    for info in pkgutil.iter_modules(eakte.ops.__path__):
        path = Path(eakte.ops.__path__[0]) / f"{info.name}.py"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                found[f"{info.name}.{node.name}"] = node
    return found


def _calls_begin_write(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "begin_write" for n in ast.walk(node))


def test_public_members_are_pinned() -> None:
    members = _public_members()
    assert sorted(members) == sorted(PINNED), (
        "the Session's public members changed; update PINNED only for an intended API change")
    for name, expected in PINNED.items():
        assert members[name] == expected, name


@pytest.mark.parametrize("name", sorted(n for n, v in PINNED.items() if isinstance(v, tuple)))
def test_methods_carry_their_operation_docs(name: str) -> None:
    method = getattr(Session, name)
    assert method.__doc__ and method.__doc__.strip(), name
    target = getattr(method, "__wrapped__", None)
    if target is not None:  # delegations show the operation's docstring as their own
        assert method.__doc__ == target.__doc__
        assert next(iter(inspect.signature(target).parameters)) == "uow"


def test_session_hands_out_its_unit_of_work(store: Any) -> None:
    with store.session() as s:
        assert isinstance(s.unit_of_work, UnitOfWork)
        assert s.unit_of_work.user == s.user
        seen: list[tuple[int, int | None]] = []
        s.index_progress = lambda done, total: seen.append((done, total))
        assert s.unit_of_work.index_progress is s.index_progress


def test_write_operations_begin_writing_first() -> None:
    operations = _operations()
    names = {qual.rpartition(".")[2] for qual in operations}
    assert WRITES <= names
    for qual, node in operations.items():
        name = qual.rpartition(".")[2]
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        if name in WRITES:
            first = body[0]
            assert isinstance(first, ast.Expr) and ast.unparse(first) == "uow.begin_write()", (
                f"{qual} writes: its first step must be uow.begin_write()")
        else:
            assert not _calls_begin_write(node), f"{qual} reads: it must not begin writing"


def test_reads_do_not_begin_writing(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    begin_write = UnitOfWork.begin_write

    def counted(self: UnitOfWork) -> None:
        calls.append("write")
        begin_write(self)

    monkeypatch.setattr(UnitOfWork, "begin_write", counted)
    with store.session() as s:  # every write begins writing (repeated calls are no-ops)
        s.add_plan_unit("630.10", "Baugenehmigungen")
        assert calls
        calls.clear()
        akte = s.create_akte("630.10", "Neubau")
        assert calls
        calls.clear()
        doc = s.file_document(akte, b"Antrag", filename="antrag.txt")
        assert calls
    calls.clear()
    with store.session() as s:
        s.get_akte(akte.aktenzeichen)
        s.documents(akte)
        s.read_content(s.get_document(doc.id))
        s.changes()
        s.disposal_status(akte)
    assert calls == []
