"""The Store is a StoreContext: the lower layers' protocol fits the one implementation."""

from __future__ import annotations

from pathlib import Path

import eakte
from eakte.context import StoreContext


def test_store_satisfies_the_context_protocol(tmp_path: Path) -> None:
    with eakte.open(tmp_path / "akten") as store:
        context: StoreContext = store  # checked by mypy as well
        assert context.setting("aktenzeichen_pattern") == store.aktenzeichen_pattern.pattern
        context.forget_settings()
        with context.read_connection() as conn:
            assert conn.engine.dialect.name == context.dialect == "sqlite"
