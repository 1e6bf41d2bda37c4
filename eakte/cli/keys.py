"""Commands for the master key of an encrypted store: keys generate, status, rotate."""

from __future__ import annotations

from pathlib import Path

import click

from eakte.access import StoreJob
from eakte.cli._common import App, emit_json, json_option, pass_app
from eakte.crypto.masterkey import MASTER_KEY_ENV, generate_master_key_file
from eakte.crypto.rotation import rotate_master_key
from eakte.crypto.settings import encryption_status

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Master keys of stores whose blobs are encrypted at rest.

    Every blob has its own data key, wrapped by a key per Akte, which the master key wraps
    in turn. The master key lives in a file outside the store; the store finds it through
    the path recorded at 'eakte init --encrypt --master-key FILE' or $EAKTE_MASTER_KEY_FILE.
    """


@keys.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_app
def generate(app: App, file: Path) -> None:
    """Create a new random 256-bit master key in FILE (mode 0600); never overwrites.

    Keep it apart from the store and back it up separately: without it nothing in the
    store can be read.
    """
    provider = generate_master_key_file(file)
    if app.json:
        emit_json({"file": str(file), "key_id": provider.key_id})
        return
    click.echo(f"Created master key {provider.key_id} in {file}")


@keys.command()
@json_option
@pass_app
def status(app: App) -> None:
    """Show whether the store is encrypted, its master key and how many keys it holds."""
    store = app.store()
    store.require_job(app.user, StoreJob.MANAGE_KEYS)
    report = encryption_status(store)
    if app.json:
        emit_json(report.as_dict())
        return
    if not report.encrypted:
        click.echo("The store's blobs are not encrypted.")
        return
    click.echo(f"Encrypted:   {report.scheme}")
    click.echo(f"Master key:  {report.master_key_id}")
    wrapped = ", ".join(f"{n} by {key}" for key, n in sorted(report.akte_keys.items()))
    click.echo(f"Akte keys:   {sum(report.akte_keys.values())}"
               + (f" ({wrapped})" if wrapped else ""))
    click.echo(f"Blob keys:   {report.blob_keys} wrapping(s) for "
               f"{report.encrypted_blobs} encrypted blob address(es)")


@keys.command()
@click.option("--new-key", "new_key", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The new master key file (create it with 'eakte keys generate').")
@json_option
@pass_app
def rotate(app: App, new_key: Path) -> None:
    """Re-wrap every Akte key under a new master key; no content is re-encrypted.

    The store must open with its current key. Afterwards only the new key is needed (keep
    the old one as long as database backups from before the rotation are kept). A key
    file recorded in the store configuration is updated to the new file; if the key came
    from $EAKTE_MASTER_KEY_FILE, point that at the new file.
    """
    store = app.store()
    store.require_job(app.user, StoreJob.MANAGE_KEYS)
    report = rotate_master_key(store, new_key, user=app.user)
    if app.json:
        emit_json(report.as_dict())
        return
    click.echo(f"Re-wrapped {report.akte_keys} Akte key(s): master key {report.old_key_id} "
               f"→ {report.new_key_id}")
    if report.config_updated:
        click.echo(f"The store configuration now names {new_key}.")
    else:
        app.note(f"Give the new key from now on (e.g. {MASTER_KEY_ENV}={new_key}).")
