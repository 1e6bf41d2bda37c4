"""Build real xdomea messages for the hostile tests from a throw-away source store."""

from __future__ import annotations

import zipfile
from pathlib import Path

import eakte
from eakte.exchange.xdomea import export_xdomea

NS31 = "urn:xoev-de:xdomea:schema:3.1.0"


def export_0503(folder: Path, *, filename: str = "bescheid.txt",
                content: bytes = b"Bescheid vom 3. M\xc3\xa4rz") -> Path:
    """Return a valid 0503 container with one Akte and one document (no lifecycle steps)."""
    with eakte.init(folder / "source", search="none") as source, source.session() as s:
        s.add_plan_unit("630", "Bauaufsicht", retention_years=0, disposal="A")
        akte = s.create_akte("630", "Abgegebene Akte")
        s.file_document(akte, content, filename=filename)
        result = export_xdomea(s, [akte], message="0503", out_dir=folder / "out", record=False)
    return result.path


def with_member(container: Path, target: Path, name: str, data: bytes = b"x", *,
                attr: int | None = None, compress: int = zipfile.ZIP_STORED) -> Path:
    """Copy ``container`` to ``target`` (same file name) with one extra member.

    zipfile cuts names at a NUL byte, so a NUL is patched into the raw bytes afterwards.
    """
    target.mkdir(parents=True, exist_ok=True)
    out = target / container.name
    written = name.replace("\x00", "\x01")
    with zipfile.ZipFile(container) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        extra = zipfile.ZipInfo(written)
        extra.compress_type = compress
        if attr is not None:
            extra.external_attr = attr << 16
        dst.writestr(extra, data)
    if written != name:
        out.write_bytes(out.read_bytes().replace(written.encode(), name.encode()))
    return out


def message_xml(container: Path) -> tuple[str, bytes]:
    """Return the name and bytes of a container's message XML."""
    with zipfile.ZipFile(container) as zf:
        name = next(n for n in zf.namelist() if n == container.stem + ".xml")
        return name, zf.read(name)


def kopf(code: str, prozess_id: str) -> str:
    receipt = "<xdomea:Empfangsbestaetigung>0</xdomea:Empfangsbestaetigung>" \
        if code in ("0501", "0502") else ""
    return (f"<xdomea:Kopf><xdomea:ProzessID>{prozess_id}</xdomea:ProzessID>"
            f"<xdomea:Nachrichtentyp><code>{code}</code></xdomea:Nachrichtentyp>"
            "<xdomea:Erstellungszeitpunkt>2026-03-03T10:00:00Z</xdomea:Erstellungszeitpunkt>"
            "<xdomea:Absender><xdomea:Institution><xdomea:Name>Landesarchiv</xdomea:Name>"
            "</xdomea:Institution></xdomea:Absender><xdomea:Empfaenger><xdomea:Institution>"
            "<xdomea:Name>Bauamt</xdomea:Name></xdomea:Institution></xdomea:Empfaenger>"
            f"{receipt}</xdomea:Kopf>")


ELEMENTS = {
    "0502": "Aussonderung.Bewertungsverzeichnis.0502",
    "0506": "Aussonderung.AussonderungImportBestaetigen.0506",
}


def answer(code: str, prozess_id: str, akte_uuid: str, *, doctype: bytes = b"") -> bytes:
    """A 0502 (appraisal A) or 0506 (transfer confirmed) for one Akte, DTD optional."""
    if code == "0502":
        body = (f"<xdomea:BewertetesObjekt><xdomea:ID>{akte_uuid}</xdomea:ID>"
                "<xdomea:Aussonderungsart><xdomea:Aussonderungsart><code>A</code>"
                "</xdomea:Aussonderungsart></xdomea:Aussonderungsart>"
                "</xdomea:BewertetesObjekt>")
    else:
        body = (f"<xdomea:AusgesondertesSGO><xdomea:IDSGO>{akte_uuid}</xdomea:IDSGO>"
                "<xdomea:Erfolgreich>1</xdomea:Erfolgreich>"
                "<xdomea:Archivkennung>LA 1/2026</xdomea:Archivkennung>"
                "</xdomea:AusgesondertesSGO>")
    element = ELEMENTS[code]
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
            + f'<xdomea:{element} xmlns:xdomea="{NS31}">{kopf(code, prozess_id)}{body}'
              f"</xdomea:{element}>".encode())


def answer_name(code: str, prozess_id: str, suffix: str = "xml") -> str:
    return f"{prozess_id}_{ELEMENTS[code]}.{suffix}"
