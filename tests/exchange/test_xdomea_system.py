"""A 0503 takeover files under the ``xdomea`` system's ids: only its holders may import."""

from __future__ import annotations

from pathlib import Path

import pytest

import eakte
from eakte.exchange.xdomea import export_xdomea, import_xdomea


def _transfer(make_store, out: Path) -> Path:
    """Write a 0503 of one closed Akte (two-stage procedure: the unit's default A)."""
    source = make_store("quelle")
    with source.session() as s:
        akte = s.create_akte("630.10", "Neubau Lindenstraße 4")
        s.file_document(akte, b"Bauantrag", filename="antrag.txt")
        s.close_akte(akte)
    with source.session() as s:
        return export_xdomea(s, [akte.aktenzeichen], message="0503", out_dir=out).path


def _refusal(store: eakte.Store, user: str, message: Path) -> str:
    with pytest.raises(eakte.AccessDenied) as refused, store.session(user) as s:
        import_xdomea(s, message)
    return str(refused.value)


def test_takeover_needs_the_xdomea_system_whether_or_not_it_was_imported(
        make_store, no_schemas, tmp_path: Path) -> None:
    message = _transfer(make_store, tmp_path / "out")
    target = make_store("ziel")
    with target.session() as s:
        s.add_user("registratur")
        s.grant("registratur", "manager", "*")
    unknown = _refusal(target, "registratur", message)
    with target.session() as s:
        import_xdomea(s, message)  # the administrator holds every system
        before = len(s.list_akten())
    imported = _refusal(target, "registratur", message)
    assert unknown == imported and "system 'xdomea'" in unknown
    with target.session() as s:
        assert len(s.list_akten()) == before
        s.grant("registratur", "owner", "system:xdomea")
    with pytest.raises(eakte.StateConflict, match="imported before"), \
            target.session("registratur") as s:
        import_xdomea(s, message)
