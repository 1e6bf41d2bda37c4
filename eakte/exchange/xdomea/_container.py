"""Opening untrusted xdomea containers and parsing their XML safely.

Every container is treated as hostile. A ZIP is judged by its central directory before
anything is decompressed (member count, declared sizes, compression ratio, traversal and
absolute names, symlinks, duplicates) and members are read in bounded chunks; the XML is
refused if it carries a document type declaration (so no entity can be declared, expanded
or fetched) and parsed by lxml with entities, DTD loading and network access off. A bare
``.xml`` message may refer to primary files lying next to it; only plain files with the
exact, separator-free name are used.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self
from xml.parsers import expat

from eakte.errors import ArchiveImportError, UnsafeContent
from eakte.exchange.xdomea.codes import message_type_for, namespace_version
from eakte.ingest.limits import ExtractLimits, check_zip, iter_member, unsafe_member_name

if TYPE_CHECKING:
    from lxml.etree import _Element

__all__ = ["Container", "XdomeaLimits", "message_of", "open_container", "parse_xml"]

_MiB = 1024 * 1024
_MESSAGE_XML = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"_Aussonderung\.[A-Za-z]+\.05\d\d\.xml$")


@dataclass(frozen=True)
class XdomeaLimits:
    """Caps for reading one xdomea container; the defaults suit large Aussonderungen.

    Attributes:
        max_container_bytes: largest container file accepted.
        max_xml_bytes: largest message XML accepted.
        max_members: most entries a ZIP container may list.
        max_total_bytes: most uncompressed bytes all entries may declare together.
        max_member_bytes: most bytes of one primary file (None: the store's file limit).
        max_compression_ratio: most uncompressed/compressed ratio of an entry larger than
            ``ratio_floor_bytes``.
        ratio_floor_bytes: entries up to this size are not ratio-checked.
        max_xml_depth: deepest element nesting accepted.
    """

    max_container_bytes: int = 64 * 1024 * _MiB
    max_xml_bytes: int = 512 * _MiB
    max_members: int = 200_000
    max_total_bytes: int = 64 * 1024 * _MiB
    max_member_bytes: int | None = None
    max_compression_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * _MiB
    max_xml_depth: int = 256

    def extract_limits(self, member_bytes: int) -> ExtractLimits:
        """Return the equivalent :class:`ExtractLimits` for the ZIP guards."""
        return ExtractLimits(
            max_archive_members=self.max_members, max_archive_bytes=self.max_total_bytes,
            max_member_bytes=member_bytes, max_compression_ratio=self.max_compression_ratio,
            ratio_floor_bytes=self.ratio_floor_bytes, max_xml_depth=self.max_xml_depth)


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class Container:
    """An opened message: its XML and access to the primary files it names.

    Use :func:`open_container`; close it (or use it as a context manager) afterwards.

    Attributes:
        path: the file given.
        xml_name: the name of the message XML (member or file name).
        xml: the message XML bytes.
        members: the ZIP's file members, or None for a bare XML file.
    """

    def __init__(self, path: Path, xml_name: str, xml: bytes, *,
                 archive: zipfile.ZipFile | None, limits: ExtractLimits) -> None:
        self.path = path
        self.xml_name = xml_name
        self.xml = xml
        self._archive = archive
        self._limits = limits
        self._infos = ({i.filename: i for i in archive.infolist() if not i.is_dir()}
                       if archive is not None else {})
        self.members: frozenset[str] | None = (
            frozenset(self._infos) if archive is not None else None)

    @property
    def is_zip(self) -> bool:
        """True for a ZIP container, False for a bare XML message."""
        return self._archive is not None

    def _sibling(self, name: str) -> Path | None:
        if "/" in name or "\\" in name or unsafe_member_name(name) or name in (".", ".."):
            return None
        candidate = self.path.parent / name
        try:
            info = candidate.lstat()
        except OSError:
            return None
        return candidate if stat.S_ISREG(info.st_mode) else None

    def has_file(self, name: str) -> bool:
        """Return True if the primary file ``name`` is available."""
        if self._archive is not None:
            return name in self._infos and name != self.xml_name
        return self._sibling(name) is not None

    def open_file(self, name: str) -> BinaryIO:
        """Open a primary file for reading, within the size and ratio limits.

        Raises:
            ArchiveImportError: the file is not in the container.
            UnsafeContent: the file is larger than allowed (a bomb or over the file limit).
        """
        if self._archive is not None:
            info = self._infos.get(name)
            if info is None:
                raise ArchiveImportError(f"primary file {name!r} is not in the container")
            return io.BufferedReader(_ChunkReader(iter_member(self._archive, info,
                                                              self._limits)))
        path = self._sibling(name)
        if path is None:
            raise ArchiveImportError(f"primary file {name!r} is not next to the message")
        if path.stat().st_size > self._limits.max_member_bytes:
            raise UnsafeContent(f"primary file {name!r} is larger than the limit of "
                                f"{self._limits.max_member_bytes} bytes")
        return path.open("rb")

    def close(self) -> None:
        """Close the ZIP file, if any."""
        if self._archive is not None:
            self._archive.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _check_members(archive: zipfile.ZipFile, limits: ExtractLimits) -> None:
    check_zip(archive, limits)
    seen: set[str] = set()
    for info in archive.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeContent(f"unsafe archive member {info.filename!r}: symbolic link")
        if info.filename in seen:
            raise UnsafeContent(f"archive member {info.filename!r} appears twice")
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise ArchiveImportError(f"archive member {info.filename!r} is encrypted")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ExtractLimits
                 ) -> bytes:
    return b"".join(iter_member(archive, info, limits))


def open_container(path: str | os.PathLike[str], *, limits: XdomeaLimits | None = None,
                   max_file_bytes: int = 2 * 1024 * 1024 * _MiB) -> Container:
    """Open an xdomea container (``.zip``) or a bare message (``.xml``) safely.

    Args:
        path: the file.
        limits: caps for the container (defaults of :class:`XdomeaLimits`).
        max_file_bytes: the largest primary file accepted (the store's file limit).

    Raises:
        ArchiveImportError: not a readable ZIP or XML file, or no message XML inside.
        UnsafeContent: a member name with traversal, an absolute name or a symlink, a zip
            bomb (declared sizes or ratio), or a container or XML over the size limits.
    """
    limits = limits or XdomeaLimits()
    member_cap = limits.max_member_bytes or max_file_bytes
    extract = limits.extract_limits(max(member_cap, limits.max_xml_bytes))
    path = Path(os.fspath(path))
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ArchiveImportError(f"cannot read {str(path)!r}: {exc}") from exc
    if size > limits.max_container_bytes:
        raise UnsafeContent(f"{path.name!r} is larger than the limit of "
                            f"{limits.max_container_bytes} bytes")
    if magic.startswith(b"PK"):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveImportError(f"{path.name!r} is not a readable ZIP file: {exc}") from exc
        try:
            _check_members(archive, extract)
            xml_info = _message_member(archive, path)
            if xml_info.file_size > limits.max_xml_bytes:
                raise UnsafeContent(f"message XML {xml_info.filename!r} is larger than the "
                                    f"limit of {limits.max_xml_bytes} bytes")
            try:
                xml = _read_member(archive, xml_info, extract)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ArchiveImportError(f"{path.name!r}: damaged member "
                                         f"{xml_info.filename!r}: {exc}") from exc
        except BaseException:
            archive.close()
            raise
        file_limits = limits.extract_limits(member_cap)
        return Container(path, xml_info.filename, xml, archive=archive, limits=file_limits)
    if size > limits.max_xml_bytes:
        raise UnsafeContent(f"message XML {path.name!r} is larger than the limit of "
                            f"{limits.max_xml_bytes} bytes")
    return Container(path, path.name, path.read_bytes(), archive=None,
                     limits=limits.extract_limits(member_cap))


def _message_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    expected = path.stem + ".xml"
    for info in infos:
        if info.filename == expected:
            return info
    found = [i for i in infos if _MESSAGE_XML.match(i.filename)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ArchiveImportError(
            f"{path.name!r} holds no xdomea message (expected a member named "
            "'{ProzessID}_Aussonderung.<Nachricht>.05xx.xml')")
    raise ArchiveImportError(f"{path.name!r} holds {len(found)} message XML files; expected one")


# -- XML ----------------------------------------------------------------------------------


def _refuse_dtd(data: bytes) -> None:
    """Refuse any document type declaration before lxml sees the bytes (expat, no callbacks)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> None:
        raise UnsafeContent("XML with a document type declaration (DTD) refused: entity "
                            "expansion and external references are not allowed")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ArchiveImportError(f"the message is not well-formed XML: {exc}") from exc


def parse_xml(data: bytes) -> _Element:
    """Parse message XML safely and return its root element.

    libxml2 itself refuses nesting deeper than 256 elements (``huge_tree`` stays off).

    Raises:
        UnsafeContent: a DTD or entity declaration.
        ArchiveImportError: the XML is not well-formed (or nested too deeply).
    """
    from lxml import etree

    _refuse_dtd(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ArchiveImportError(f"the message is not well-formed XML: {exc}") from exc


def message_of(root: _Element) -> tuple[str, str]:
    """Return ``(Nachrichtentyp, xdomea version)`` of a parsed message.

    Raises:
        ArchiveImportError: not an xdomea 3.0.0/3.1.0 Aussonderung message.
    """
    from lxml import etree

    qname = etree.QName(root)
    version = namespace_version(qname.namespace)
    mtype = message_type_for(qname.localname)
    if version is None:
        raise ArchiveImportError(
            f"unsupported namespace {qname.namespace!r}: eakte reads xdomea 3.0.0 and 3.1.0")
    if mtype is None:
        raise ArchiveImportError(f"{qname.localname!r} is not an Aussonderung message eakte "
                                 "reads (0501–0507)")
    return mtype.code, version
