"""The store folder's own record of itself: ``eakte-store.json``, read and written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from eakte.errors import InvalidInput, NotFoundError

__all__ = ["CONFIG_NAME", "StoreConfig"]

#: Name of the configuration file inside a store folder.
CONFIG_NAME = "eakte-store.json"


@dataclass(frozen=True)
class StoreConfig:
    """What a store folder records about itself in ``eakte-store.json``."""

    store_id: str
    db_url: str | None
    admin: str
    created_at: str
    #: ``{"scheme": …, "master_key_file": …}`` for a store with encrypted blobs.
    encryption: dict[str, str] | None = None

    @classmethod
    def read(cls, folder: Path) -> StoreConfig:
        """Read the configuration of the store in ``folder``.

        Raises:
            NotFoundError: the folder holds no store.
            InvalidInput: the configuration file is unreadable.
        """
        path = folder / CONFIG_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise NotFoundError(
                "Store", str(folder), f"no eakte store at {str(folder)!r}; run 'eakte init'"
            ) from exc
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"unreadable store configuration {str(path)!r}: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("store_id"), str):
            raise InvalidInput(
                f"store configuration {str(path)!r} is damaged: it lacks 'store_id'"
            )
        db_url = raw.get("db_url")
        crypt = raw.get("encryption")
        return cls(
            store_id=raw["store_id"],
            db_url=str(db_url) if db_url else None,
            admin=str(raw.get("admin", "admin")),
            created_at=str(raw.get("created_at", "")),
            encryption={str(k): str(v) for k, v in crypt.items()}
            if isinstance(crypt, dict) else None,
        )

    def write(self, folder: Path) -> None:
        """Write the configuration atomically into ``folder``."""
        path = folder / CONFIG_NAME
        tmp = path.with_suffix(".tmp")
        data = {
            "format": 1,
            "store_id": self.store_id,
            "db_url": self.db_url,
            "admin": self.admin,
            "created_at": self.created_at,
        }
        if self.encryption is not None:
            data["encryption"] = self.encryption
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
