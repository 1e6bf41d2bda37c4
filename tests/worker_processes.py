"""Spawned worker processes for the concurrency tests: start them, collect, never hang."""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from typing import Any


def run_spawned(target: Callable[..., None], make_args: Callable[[Any, Any], tuple[Any, ...]],
                workers: int, timeout: float) -> list[Any]:
    """Run ``workers`` spawned processes of ``target`` and return what each reported.

    ``make_args(barrier, results)`` gives each process its arguments; a worker puts one
    ``("ok", detail)`` or ``("error", traceback)`` on ``results``. Fails the test if any
    worker reported an error, died without reporting, or did not finish in ``timeout``.
    """
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=make_args(barrier, results))
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    deadline = time.monotonic() + timeout
    outcomes: list[tuple[str, Any]] = []
    try:
        while len(outcomes) < workers:
            try:
                outcomes.append(results.get(timeout=1))
            except queue.Empty:
                # a worker that died without reporting (crash, kill) must not hang the test
                assert any(p.is_alive() for p in procs), (
                    f"workers exited with {[p.exitcode for p in procs]} after reporting "
                    f"{len(outcomes)} of {workers} results")
                assert time.monotonic() < deadline, "workers did not finish in time"
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    errors = [detail for status, detail in outcomes if status != "ok"]
    assert not errors, "\n".join(errors)
    assert [proc.exitcode for proc in procs] == [0] * workers
    return [detail for _, detail in outcomes]
