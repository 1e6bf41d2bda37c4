"""The public surface of ``import eakte``: one sorted ``__all__``, cheap import, version."""

from __future__ import annotations

import subprocess
import sys
import types

import eakte


def _public_names() -> set[str]:
    """Names eakte's namespace offers: not private, not submodules, not __future__ features."""
    return {
        name
        for name, value in vars(eakte).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__ import annotations
        and name != "Any"  # typing helper of the module __getattr__
    }


def test_all_is_sorted_and_unique() -> None:
    assert list(eakte.__all__) == sorted(eakte.__all__)
    assert len(set(eakte.__all__)) == len(eakte.__all__)


def test_all_equals_the_public_names() -> None:
    assert set(eakte.__all__) == _public_names()


def test_every_exported_name_exists() -> None:
    for name in eakte.__all__:
        assert getattr(eakte, name) is not None, name


def test_exported_errors_share_one_root() -> None:
    errors = [getattr(eakte, n) for n in eakte.__all__
              if isinstance(getattr(eakte, n), type)
              and issubclass(getattr(eakte, n), BaseException)]
    assert len(errors) >= 10
    warnings = [e for e in errors if issubclass(e, Warning)]
    assert all(issubclass(w, eakte.EakteWarning) for w in warnings)
    assert all(issubclass(e, eakte.EakteError) for e in errors if e not in warnings)


def test_import_does_not_load_cli_or_search_libraries() -> None:
    code = (
        "import sys, eakte; "
        "print(','.join(sorted(m for m in ('click', 'rich', 'whoosh') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_version_is_a_string() -> None:
    assert isinstance(eakte.__version__, str)
    assert eakte.__version__
    assert eakte.__version__[0].isdigit()


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        eakte.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
