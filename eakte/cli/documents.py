"""Commands for documents and their content: add, version, show, get."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from eakte.cli._common import App, emit_json, fmt_size, fmt_time, json_option, pass_app
from eakte.cli._tables import fmt_utc, id_col, text_col
from eakte.errors import StateConflict
from eakte.ingest.folder import scan_paths, summarize_skipped
from eakte.types import DocumentKind
from eakte.views import akte_view, document_summary, document_view

__all__ = ["add", "get", "show", "version"]

#: Bytes copied per read when writing content out.
CHUNK_SIZE = 1024 * 1024
_DOCUMENT_ID = re.compile(r"[0-9]+")


# -- add ---------------------------------------------------------------------------------

#: Above this many documents, ``add`` prints a summary instead of one row per document.
LIST_LIMIT = 50


@click.command()
@click.argument("aktenzeichen")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...",
                type=click.Path(path_type=Path))
@click.option("--vorgang", metavar="TITLE",
              help="File into the Vorgang with this title (created if the Akte has no "
                   "Vorgang of that title).")
@click.option("--title", metavar="T", help="Document title (default: the file name); "
              "only with a single file.")
@click.option("--kind", type=click.Choice([k.value for k in DocumentKind]),
              default=DocumentKind.INTERNAL.value, show_default=True,
              help="Direction of the documents relative to the agency.")
@click.option("--follow-symlinks", is_flag=True,
              help="In directories, follow symbolic links that stay inside the directory "
                   "(default: skip every link).")
@click.option("--list", "list_all", is_flag=True,
              help=f"List every filed document, also above {LIST_LIMIT} (default: a "
                   "summary then).")
@json_option
@pass_app
def add(app: App, aktenzeichen: str, paths: tuple[Path, ...], vorgang: str | None,
        title: str | None, kind: str, follow_symlinks: bool, list_all: bool) -> None:
    """File documents into an Akte.

    Each PATH becomes a document in the Akte AKTENZEICHEN; a directory adds every file
    below it, keeping each file's path below the directory in the document's metadata
    (source_path). In directories, hidden entries (names starting with a dot) and symbolic
    links are skipped and reported; --follow-symlinks follows links, but never to
    anything outside the directory. All documents are filed in one transaction: if one
    file is refused (empty, unreadable), none is filed.
    """
    started = time.monotonic()
    found, skipped = scan_paths([*paths], follow_symlinks=follow_symlinks)
    summary = summarize_skipped(skipped)
    if summary:
        app.note(summary)
    if not found:
        raise click.UsageError("no files to add (the directories are empty"
                               + (", or hold only skipped entries)" if skipped else ")"))
    if title is not None and len(found) > 1:
        raise click.UsageError(f"--title needs exactly one file, got {len(found)}")
    err = app.err
    with Progress(
        TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err, transient=True,
        disable=len(found) < 2 or not err.is_terminal,
    ) as progress:
        with app.session() as s:
            target = s.get_akte(aktenzeichen)
            folder = None
            if vorgang is not None:
                folder = s.find_vorgang(target, vorgang) or s.create_vorgang(target, vorgang)
            filing = progress.add_task("filing", total=len(found))
            documents = s.file_documents(
                target, found, vorgang=folder, title=title, kind=kind,
                progress=lambda done, total: progress.update(filing, completed=done),
            )
            latest = s.latest_versions(target)
            views = [{**document_summary(d, latest[d.id], target.aktenzeichen),
                      "source_path": d.meta.get("source_path")} for d in documents]
            store = app.store()
            if store.auto_index and store.indexer is not None:
                # the commit at the end of this block indexes the documents: show that too
                indexing = progress.add_task("indexing", total=None)
                s.index_progress = lambda done, total: progress.update(
                    indexing, completed=done, total=total)
    elapsed = time.monotonic() - started
    if app.json:
        emit_json(views)
        return
    if len(views) > LIST_LIMIT and not list_all:
        size = sum(int(v["size"]) for v in views)
        app.out.print(f"Filed {len(views):,} documents ({fmt_size(size)}) in "
                      f"{target.aktenzeichen} in {elapsed:.1f} s; --list shows each one")
        return
    table = Table(id_col("ID", justify="right"), text_col("Title"),
                  id_col("Size", justify="right"), text_col("MIME"), id_col("SHA-256"),
                  title=f"Filed {len(views)} document(s) in {target.aktenzeichen}")
    for v in views:
        table.add_row(str(v["id"]), v["title"], fmt_size(v["size"]), v["mime"],
                      v["sha256"][:12] + "…")
    app.out.print(table)


# -- version -----------------------------------------------------------------------------


@click.command()
@click.argument("document_id", type=int)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--comment", metavar="C", help="A note on the new version, e.g. what changed.")
@click.option("--allow-identical", is_flag=True,
              help="Add the version even if its content equals the newest version's.")
@json_option
@pass_app
def version(app: App, document_id: int, path: Path, comment: str | None,
            allow_identical: bool) -> None:
    """Add a new version to a document.

    The file PATH becomes the next version of document DOCUMENT_ID. A file with the same
    content (SHA-256) as the newest version adds nothing and says so (exit 0;
    JSON "unchanged": true); --allow-identical adds it anyway.
    """
    with app.session() as s:
        document = s.get_document(document_id)
        before = document.version_count
        new = s.add_version(document, path, comment=comment, allow_identical=allow_identical)
    unchanged = new.number <= before
    view = {
        "document_id": document.id,
        "version": new.number,
        "unchanged": unchanged,
        "sha256": new.sha256,
        "size": new.size,
        "mime": new.mime,
        "filename": new.filename,
        "comment": new.comment,
        "created_at": new.created_at,
    }
    if app.json:
        emit_json(view)
        return
    if unchanged:
        click.echo(f"Document {document.id} unchanged: {path.name} has the content of version "
                   f"{new.number} (sha256 {new.sha256}); nothing added "
                   "(--allow-identical adds it anyway)")
        return
    click.echo(f"Document {document.id} version {new.number}: {new.filename}, "
               f"{fmt_size(new.size)}, {new.mime}, sha256 {new.sha256}")


# -- show --------------------------------------------------------------------------------


@click.command()
@click.argument("key", metavar="AKTENZEICHEN|DOCUMENT_ID")
@json_option
@pass_app
def show(app: App, key: str) -> None:
    """Show an Akte or a document.

    An Akte is shown with its Vorgänge and documents, a document with its versions.

    A key of digits only is a document id; anything else is an Aktenzeichen.
    """
    is_document = _DOCUMENT_ID.fullmatch(key.strip()) is not None
    with app.session() as s:
        if is_document:
            view = document_view(s, s.get_document(int(key)))
        else:
            view = akte_view(s, s.get_akte(key))
    if app.json:
        emit_json(view)
    elif is_document:
        app.out.print(_document_table(view))
    else:
        app.out.print(_akte_tree(view))


def _fields(rows: list[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, "-" if value in (None, "", {}, []) else str(value))
    return table


def _document_table(view: dict[str, Any]) -> Group:
    vorgang = view["vorgang"]
    head = _fields([
        ("Document", f"{view['id']}  {view['title']}"),
        ("Akte", view["aktenzeichen"]),
        ("Vorgang", f"{vorgang['title']} (id {vorgang['id']})" if vorgang else None),
        ("Kind", view["kind"]),
        ("Created", f"{fmt_time(view['created_at'])} by {view['created_by']}"),
        ("Metadata", view["metadata"]),
    ])
    versions = Table(id_col("No.", justify="right"), text_col("File / MIME"),
                     id_col("Size", justify="right"), id_col("SHA-256"),
                     id_col("Created (UTC) / by"), text_col("Comment"), title="Versions")
    for v in view["versions"]:
        versions.add_row(str(v["number"]), f"{v['filename']}\n{v['mime']}", fmt_size(v["size"]),
                         v["sha256"][:12] + "…", f"{fmt_utc(v['created_at'])}\n{v['created_by']}",
                         v["comment"] or "")
        for r in v["renditions"]:
            versions.add_row("", f"↳ {r['kind']}: {r['filename']}\n{r['mime']}",
                             fmt_size(r["size"]), r["sha256"][:12] + "…",
                             f"{fmt_utc(r['created_at'])}\n{r['created_by']}", "rendition")
    return Group(head, versions)


def _akte_tree(view: dict[str, Any]) -> Group:
    status = "z.d.A. " + fmt_time(view["closed_at"]) if view["status"] == "closed" else "open"
    head = _fields([
        ("Akte", f"{view['aktenzeichen']}  {view['title']}"),
        ("Status", status),
        ("Aktenplan", view["kennzeichen"]),
        ("Confidentiality", view["confidentiality"]),
        ("Org unit", view["org_unit"]),
        ("Created", f"{fmt_time(view['created_at'])} by {view['created_by']}"),
        ("External ids", ", ".join(view["external_ids"])),
        ("Metadata", view["metadata"]),
    ])
    tree = Tree(Text(f"{view['aktenzeichen']} ({len(view['documents'])} documents)",
                     style="bold"))
    nodes: dict[int | None, Tree] = {None: tree}
    for v in view["vorgaenge"]:
        parent = nodes.get(v["parent_id"], tree)
        label = f"Vorgang {v['title']}" + (" (closed)" if v["status"] == "closed" else "")
        nodes[v["id"]] = parent.add(Text(label, style="cyan"))
    for d in view["documents"]:
        node = nodes.get(d["vorgang_id"], tree)
        node.add(Text(f"[{d['id']}] {d['title']}  v{d['version']}  {d['kind']}  "
                      f"{d['mime'] or '-'}  {fmt_size(d['size'] or 0)}"))
    return Group(head, tree)


# -- get ---------------------------------------------------------------------------------


def _output_error(out: str, exc: OSError) -> click.FileError:
    return click.FileError(out, hint=exc.strerror or str(exc))


def _exists_error(out: Path) -> StateConflict:
    return StateConflict(f"{str(out)!r} exists already; choose another file, or pass --force "
                         "to overwrite it")


def _publish(tmp: Path, out: Path, *, force: bool) -> None:
    """Give the finished temporary file its name; without ``force`` never replace a file."""
    if force:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # atomic and fails if ``out`` exists, even if it appeared just now
    except FileExistsError:
        raise _exists_error(out) from None
    except OSError:  # a file system without hard links: check, then rename
        if out.exists() or out.is_symlink():
            raise _exists_error(out) from None
        os.replace(tmp, out)


@contextlib.contextmanager
def _atomic_output(out: Path, *, force: bool) -> Iterator[IO[bytes]]:
    """Yield a temporary file next to ``out``; on success fsync it and rename it to ``out``.

    On any error the temporary file is removed and ``out`` is left as it was. An existing
    ``out`` is replaced only with ``force`` (else :class:`StateConflict`).
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise _output_error(str(out), exc) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                raise _output_error(str(out), exc) from exc
        umask = os.umask(0)
        os.umask(umask)
        try:
            os.chmod(tmp, 0o666 & ~umask)
            _publish(tmp, out, force=force)
        except OSError as exc:
            raise _output_error(str(out), exc) from exc
    finally:
        tmp.unlink(missing_ok=True)  # gone after a successful replace; a link keeps ``out``


def _copy(src: IO[bytes], dst: IO[bytes], out: str) -> int:
    """Copy ``src`` to ``dst`` in chunks; return the byte count (write errors name ``out``)."""
    written = 0
    while chunk := src.read(CHUNK_SIZE):
        try:
            dst.write(chunk)
        except OSError as exc:
            raise _output_error(out, exc) from exc
        written += len(chunk)
    return written


@click.command()
@click.argument("document_id", type=int)
@click.option("--version", "number", type=click.IntRange(min=1), metavar="N",
              help="Version number (default: the newest).")
@click.option("--rendition", metavar="KIND",
              help="A further rendition of the version, e.g. 'pdf' (default: the original).")
@click.option("-o", "--output", "output", required=True, metavar="OUT",
              help="File to write (atomically: temporary file + rename); '-' for stdout.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@json_option
@pass_app
def get(app: App, document_id: int, number: int | None, rendition: str | None,
        output: str, force: bool) -> None:
    """Write a version's exact bytes to a file.

    Reads a version (or rendition) of document DOCUMENT_ID and writes it to OUT. The read
    is recorded in the audit log. An existing OUT is refused (exit 7) unless --force is
    given; OUT appears only complete, so a failed read never leaves a partial file.
    """
    if output != "-" and not force and (Path(output).exists() or Path(output).is_symlink()):
        raise _exists_error(Path(output))  # before reading: a refusal reads nothing
    with app.session() as s:
        document = s.get_document(document_id)
        ver = s.get_version(document, number)
        with s.open_content(document, version=ver.number, rendition=rendition) as src:
            if output == "-":
                with click.open_file("-", "wb") as sink:
                    _copy(src, sink, "<stdout>")
                return
            with _atomic_output(Path(output), force=force) as fh:
                written = _copy(src, fh, output)
    what = f"rendition {rendition!r} of " if rendition else ""
    if app.json:
        emit_json({"document_id": document.id, "version": ver.number, "rendition": rendition,
                   "size": written, "output": output})
        return
    app.note(f"Wrote {what}document {document.id} version {ver.number} "
             f"({written} bytes) to {output}")
