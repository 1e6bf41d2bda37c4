"""The ``eakte`` command line: a thin click + rich layer over the public API.

Global options come before the command: ``eakte --store ./akten --user mueller add …``.
``--json`` (global or per command) prints JSON on stdout and nothing else there; progress
and notes go to stderr, and so does a failure, as one JSON object
``{"error": {"type": …, "message": …, "exit_code": …}}``.

Exit codes (each :class:`eakte.EakteError` subclass carries its ``exit_code``)::

    code  meaning                                  raised as
    ----  ---------------------------------------  -------------------------------------
       0  success
       1  other error, unexpected failure          EakteError, any other exception
       2  usage error (bad option or argument)     click.UsageError
       3  not found (store, Akte, document, user)  NotFoundError
       4  access denied                            AccessDenied
       5  integrity problem (verify failed)        IntegrityError
       6  invalid input                            InvalidInput, UnsafeContent
       7  state conflict (closed Akte, exists)     StateConflict, StoreExistsError
       8  schema version mismatch                  SchemaVersionError
       9  storage or search backend failure        StorageError, SearchError,
                                                   DatabaseError
      10  export or archive import failure         ExportError, ArchiveImportError
      11  adapter or backend plugin failure        AdapterError, AdapterContractError,
                                                   BackendUnavailable
      12  master key missing or wrong (encrypted)  MasterKeyError
      13  store busy (another writer, deadlock)    StoreBusy
"""

from __future__ import annotations

from pathlib import Path

import click

from eakte.cli import (
    access,
    adapters,
    audit,
    demo,
    documents,
    export,
    feed,
    integrity,
    keys,
    lifecycle,
    records,
    search,
    xdomea,
)
from eakte.cli._common import DEFAULT_STORE, App, EakteGroup

__all__ = ["cli", "main"]


@click.group(cls=EakteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", "store_path", envvar="EAKTE_STORE", default=DEFAULT_STORE,
              show_default=True, show_envvar=True, metavar="PATH",
              type=click.Path(file_okay=False, path_type=Path),
              help="The store folder.")
@click.option("--db", "db_url", metavar="URL",
              help="Use another database for the store, e.g. postgresql+psycopg://host/db.")
@click.option("--user", envvar="EAKTE_USER", show_envvar=True, metavar="NAME",
              help="Act as this user (default: the store's administrator).")
@click.option("--json", "as_json", is_flag=True,
              help="Print results as JSON on stdout and nothing else there.")
@click.option("--debug", is_flag=True, help="Print tracebacks for errors.")
@click.version_option(package_name="eakte", prog_name="eakte")
@click.pass_context
def cli(ctx: click.Context, store_path: Path, db_url: str | None, user: str | None,
        as_json: bool, debug: bool) -> None:
    """eakte: electronic records (e-Akte) with immutable versions and a verifiable audit log."""
    app = App(store_path=store_path, db_url=db_url, user=user or None, debug=debug,
              json=as_json)
    ctx.obj = app
    ctx.call_on_close(app.close)


for _command in (
    records.init,
    records.plan,
    records.akte,
    records.close,
    records.reopen,
    access.user,
    access.group,
    access.grant,
    access.revoke,
    access.grants,
    lifecycle.hold,
    lifecycle.retention,
    lifecycle.disposal,
    documents.add,
    documents.version,
    documents.show,
    documents.get,
    audit.audit,
    audit.verify,
    export.export,
    integrity.checkpoint,
    integrity.repair,
    keys.keys,
    search.search,
    feed.feed,
    adapters.adapters,
    adapters.adapter,
    search.reindex,
    demo.demo,
):
    cli.add_command(_command)
export.export.add_command(xdomea.export_xdomea)
cli.add_command(xdomea.import_group)


def main() -> None:
    """Run the ``eakte`` command line (the console-script entry point)."""
    cli(prog_name="eakte")
