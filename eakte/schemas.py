"""eakte's own JSON Schemas (mappings, adapter payloads, receipts): loading and validation.

The schema files live in the repository's ``schemas/`` folder and are shipped inside the
wheel as ``eakte/_schemas/``; they are always read through :mod:`importlib.resources`.

Example:
    >>> from eakte.schemas import validate
    >>> validate({"akte": {"aktenzeichen": "{az}"}}, "mapping", what="mapping")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from eakte.errors import InvalidInput, NotFoundError

__all__ = ["SCHEMA_NAMES", "load_schema", "problems", "validate"]

#: The schemas eakte ships, by name (file ``schemas/<name>.schema.json``).
SCHEMA_NAMES: tuple[str, ...] = (
    "dropfolder-sidecar",
    "filing-receipt",
    "mapping",
    "ozg-submission",
)

_MAX_PROBLEMS = 20


@cache
def _load(name: str) -> str:
    if name not in SCHEMA_NAMES:
        raise NotFoundError("schema", name,
                            f"unknown schema {name!r}; known: {', '.join(SCHEMA_NAMES)}")
    resource = resources.files("eakte").joinpath("_schemas", f"{name}.schema.json")
    return resource.read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of the shipped JSON Schema ``name`` (e.g. ``"mapping"``).

    Raises:
        NotFoundError: eakte ships no schema of that name.
    """
    schema: dict[str, Any] = json.loads(_load(name))
    return schema


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _where(path: Any) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return parts.lstrip(".") or "(top level)"


def problems(instance: object, schema: str | Mapping[str, Any]) -> list[str]:
    """Return every way ``instance`` breaks ``schema`` (a shipped name or a schema), sorted.

    Raises:
        NotFoundError: ``schema`` names no shipped schema.
        InvalidInput: ``schema`` itself is not a valid JSON Schema.
    """
    if isinstance(schema, str):
        validator = _validator(schema)
    else:
        from jsonschema import Draft202012Validator, FormatChecker
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(dict(schema))
        except SchemaError as exc:
            raise InvalidInput(f"not a valid JSON Schema: {exc.message}") from exc
        validator = Draft202012Validator(dict(schema), format_checker=FormatChecker())
    found = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    return [f"{_where(e.absolute_path)}: {e.message}" for e in found]


def validate(instance: object, schema: str | Mapping[str, Any], *, what: str) -> None:
    """Check ``instance`` against ``schema`` and report every problem at once.

    Args:
        instance: parsed JSON.
        schema: the name of a shipped schema (``"mapping"``) or a schema mapping.
        what: names the instance in the error, e.g. ``"sidecar antrag.json"``.

    Raises:
        InvalidInput: the instance does not match; the message lists every problem.
        NotFoundError: ``schema`` names no shipped schema.
    """
    found = problems(instance, schema)
    if found:
        shown = found[:_MAX_PROBLEMS]
        more = f"; and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
        raise InvalidInput(f"{what} is invalid: " + "; ".join(shown) + more)
