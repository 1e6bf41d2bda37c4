"""A simulated Fachverfahren for building permits (Bauantrag) filing into eakte.

The "Bauportal" files each application as a Vorgang (the Akte of the building plot is found
or created by a declarative mapping), files again after a crash without duplicates, sends a
corrected document that becomes a new version, follows the change feed with a durable
cursor and reads documents back by its own keys. Its code is the module
``eakte.demo.bauantrag`` (read it: it is written as an adapter author would write it);
``eakte demo`` plays it too.

Run: ``python examples/bauantrag.py [STORE_FOLDER]`` (default: a temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import eakte
from eakte.demo.bauantrag import run_bauantrag


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp()) / "akten"
    with eakte.open(folder) as store:
        summary = run_bauantrag(store)
    return 0 if summary["verified"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
