"""Running an adapter: once, or again and again, following the change feed after each run.

Public through :mod:`eakte.adapter`; import from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from eakte._adapter_contract import Adapter, RunReport
from eakte.errors import AdapterError, EakteError, InvalidInput
from eakte.filing import Filer

if TYPE_CHECKING:
    from eakte.mapping import FieldMapping
    from eakte.store import Store

__all__ = ["feed_cursor", "run_once", "watch"]


def _filer(adapter: Adapter, store: Store, user: str | None) -> Filer:
    mapping: FieldMapping | None = getattr(adapter, "mapping", None)
    return Filer(store, adapter.system, mapping=mapping, user=user)


def run_once(adapter: Adapter, store: Store, *, user: str | None = None) -> RunReport:
    """Run ``adapter`` once: file what is ready, then follow the change feed if it does.

    Raises:
        AdapterError: the adapter returned something other than a RunReport, or stopped
            on an exception it did not turn into an item's failure.
        EakteError: a problem of the whole run (unreachable store, unknown user).
    """
    filer = _filer(adapter, store, user)
    try:
        report = adapter.run_once(filer)
    except EakteError:
        raise
    except Exception as exc:  # third-party code broke the contract: say which adapter
        raise AdapterError(
            f"adapter {adapter.name!r} stopped on an unexpected {type(exc).__name__}: {exc}; "
            "the cases it filed before are committed; the adapter should report a bad item "
            "as that item's failure (Filer.attempt)") from exc
    if not isinstance(report, RunReport):
        raise AdapterError(f"adapter {adapter.name!r} returned a {type(report).__name__} "
                           "from run_once, not a RunReport")
    follow = getattr(adapter, "follow", None)
    if callable(follow) and getattr(adapter, "follows_feed", True):
        report.followed = _follow(adapter, filer, follow)
    return report


def feed_cursor(adapter: Adapter) -> str:
    """Return the name of ``adapter``'s durable change-feed cursor."""
    return f"adapter:{adapter.name}:{adapter.system}"[:100]


def _follow(adapter: Adapter, filer: Filer, follow: Callable[..., object]) -> int:
    """Hand the feed events after the adapter's cursor to ``follow``; then move the cursor.

    The cursor is saved only after ``follow`` returned, in its own transaction: a crash
    in between hands the same events over again (at least once, never lost).
    """
    cursor = feed_cursor(adapter)
    handled = 0
    position = filer.feed_position(cursor)
    while True:
        page = filer.changes(position)
        if page.events:
            follow(page.events, filer)
            handled += len(page.events)
        if page.position == position:
            return handled
        position = page.position
        filer.save_feed_position(cursor, position)


def watch(
    adapter: Adapter,
    store: Store,
    *,
    user: str | None = None,
    interval: float = 5.0,
    max_iterations: int | None = None,
    on_report: Callable[[RunReport], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run ``adapter`` again and again, ``interval`` seconds apart, until stopped.

    Stops after ``max_iterations`` runs (None: never; Ctrl-C ends it between runs).

    Args:
        adapter: the adapter instance.
        store: the store to file into.
        user: the principal to act as.
        interval: seconds to wait between runs.
        max_iterations: stop after this many runs.
        on_report: called with each run's report.
        sleep: the waiting function (tests pass a fake).

    Returns:
        The number of runs done.

    Raises:
        InvalidInput: ``interval`` or ``max_iterations`` is out of range.
        EakteError: a problem of a whole run (an item's problem is only reported).
    """
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise InvalidInput(f"interval must be a number of seconds >= 0, not {interval!r}")
    if max_iterations is not None and (isinstance(max_iterations, bool)
                                       or not isinstance(max_iterations, int)
                                       or max_iterations < 1):
        raise InvalidInput(f"max_iterations must be a positive number, not {max_iterations!r}")
    runs = 0
    while True:
        report = run_once(adapter, store, user=user)
        runs += 1
        if on_report is not None:
            on_report(report)
        if max_iterations is not None and runs >= max_iterations:
            return runs
        sleep(float(interval))
