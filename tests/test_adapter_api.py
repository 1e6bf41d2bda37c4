"""The stable adapter API: the reference adapters use nothing else; every exported name exists."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import eakte.adapter

ADAPTERS_DIR = Path(__file__).resolve().parent.parent / "adapters"
#: The eakte modules an adapter may import; its tests may use the contract suite too.
ALLOWED = frozenset({"eakte", "eakte.adapter"})
ALLOWED_IN_TESTS = ALLOWED | {"eakte.testing.adapter"}
#: The stable surface of this API_VERSION: a name may be added, never removed or renamed.
STABLE_NAMES = frozenset({
    "ADAPTERS", "API_VERSION", "RESERVED_PARAMS", "SUPPORTED_API_VERSIONS", "AccessDenied",
    "Adapter", "AdapterContractError", "AdapterError", "AdapterInfo", "AdapterParam",
    "AdapterRegistry", "CaseRecord", "ChangeEvent", "Confidentiality", "DocumentKind",
    "DocumentRecord", "EakteError", "ExternalKey", "ExtractLimits", "FeedPage", "FieldMapping",
    "Filer", "FilingResult", "FilingStatus", "FolderFile", "FolderScan", "InvalidInput",
    "NotFoundError", "RunReport", "SkippedEntry", "StateConflict", "UnsafeContent",
    "check_adapter_class", "check_zip", "clean_filename", "feed_cursor", "item_error",
    "iter_member", "load_json", "open_in_folder", "parse_email", "read_in_folder", "run_once",
    "scan_folder", "unsafe_member_name", "validate", "watch",
})


def _adapter_files() -> list[Path]:
    return sorted(ADAPTERS_DIR.rglob("*.py"))


def _eakte_imports(path: Path) -> list[tuple[int, str]]:
    """Return (line, module) for every import of an eakte module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module == "eakte":  # ``from eakte import adapter`` is a module import
                found.extend((node.lineno, f"eakte.{alias.name}") for alias in node.names
                             if importlib.util.find_spec(f"eakte.{alias.name}") is not None)
    return [(line, name) for line, name in found
            if name == "eakte" or name.startswith("eakte.")]


def test_the_reference_adapters_are_there() -> None:
    files = _adapter_files()
    assert {p.relative_to(ADAPTERS_DIR).parts[0] for p in files} >= {
        "dropfolder", "email", "ozg"}
    assert any("tests" in p.parts for p in files)


@pytest.mark.parametrize("path", _adapter_files(),
                         ids=lambda p: str(p.relative_to(ADAPTERS_DIR)))
def test_adapters_import_only_the_stable_api(path: Path) -> None:
    allowed = ALLOWED_IN_TESTS if "tests" in path.relative_to(ADAPTERS_DIR).parts else ALLOWED
    bad = [f"{path.relative_to(ADAPTERS_DIR)}:{line}: {name}"
           for line, name in _eakte_imports(path) if name not in allowed]
    assert not bad, ("adapters may import only " + ", ".join(sorted(allowed))
                     + "; export what they need from eakte.adapter instead: " + "; ".join(bad))


def test_the_import_check_sees_every_form(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import eakte\nimport eakte.filing\nfrom eakte.mapping import X\n"
                     "from eakte import adapter, Store\nfrom . import local\n"
                     "def f():\n    from eakte.ingest.limits import load_json\n",
                     encoding="utf-8")
    assert [name for _, name in _eakte_imports(probe)] == [
        "eakte", "eakte.filing", "eakte.mapping", "eakte", "eakte.adapter",
        "eakte.ingest.limits"]


def test_all_is_unique_and_resolves() -> None:
    names = list(eakte.adapter.__all__)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(eakte.adapter, name), f"eakte.adapter.__all__ names missing {name!r}"
        assert getattr(eakte.adapter, name) is not None, name
    removed = sorted(STABLE_NAMES - set(names))
    assert not removed, (f"{removed} left the stable adapter API: adapters import them; "
                         "keep them, or raise API_VERSION")
    assert eakte.adapter.API_VERSION == 1, "a new API_VERSION: update STABLE_NAMES"


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from eakte.adapter import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(eakte.adapter.__all__)


def test_public_names_are_all_exported() -> None:
    """Nothing public in the module escapes ``__all__`` (so nothing is stable by accident)."""
    public = {name for name, value in vars(eakte.adapter).items()
              if not name.startswith("_") and name != "annotations"
              and not isinstance(value, type(eakte))}
    assert public == set(eakte.adapter.__all__)


def test_the_module_docstring_names_the_stable_surface() -> None:
    doc = eakte.adapter.__doc__ or ""
    assert "What is stable" in doc
    missing = [name for name in eakte.adapter.__all__ if name not in doc]
    assert not missing, f"document these in eakte.adapter's docstring: {missing}"
