"""Checks on text, ids and metadata before they reach the database."""

from __future__ import annotations

import json
import re
from typing import Any, TypeGuard

from eakte.errors import InvalidInput

__all__ = ["MAX_META_BYTES", "check_meta", "clean_note", "clean_text", "lookup_id", "lookup_key"]

_MAX_TITLE = 1000
_MAX_NOTE = 100_000
#: Largest metadata mapping accepted, as UTF-8 JSON.
MAX_META_BYTES = 64 * 1024
_MAX_META_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # C0 but tab, DEL, C1
_NOTE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # also keeps CR/LF
_KEY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _check_chars(text: str, what: str, control: re.Pattern[str]) -> None:
    if _SURROGATE.search(text):
        raise InvalidInput(f"{what} is not valid Unicode text (it contains an unpaired "
                           "surrogate, e.g. from undecodable bytes)")
    if control.search(text):
        raise InvalidInput(f"{what} contains control characters")


def clean_text(value: str, what: str, *, max_len: int = _MAX_TITLE) -> str:
    """Return a one-line text (title, reason, id) stripped, or refuse it.

    Raises:
        InvalidInput: not text, empty, too long, control characters (tab allowed) or
            unpaired surrogates.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    _check_chars(text, what, _CONTROL)
    return text


def clean_note(value: str | None, what: str, *, max_len: int = _MAX_NOTE) -> str | None:
    """Return an optional multi-line note (a version comment) as given, or refuse it.

    Raises:
        InvalidInput: not text, too long, control characters other than tab and line
            breaks, or unpaired surrogates.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    _check_chars(value, what, _NOTE_CONTROL)
    return value


def lookup_id(value: object) -> TypeGuard[int]:
    """Tell whether ``value`` can be a row id (an int in the 64-bit range, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and \
        -(2**63) <= value < 2**63


def lookup_key(value: object) -> TypeGuard[str]:
    """Tell whether ``value`` can name a stored row at all (text without NUL or surrogates).

    Lookups by anything else find nothing, instead of failing in the database driver.
    """
    return isinstance(value, str) and "\x00" not in value and not _SURROGATE.search(value)


def _check_json(value: Any, where: str, depth: int, budget: list[int]) -> None:
    """Refuse what JSON cannot carry faithfully, depth first, within a size budget."""
    if depth > _MAX_META_DEPTH:
        raise InvalidInput(f"metadata is nested deeper than {_MAX_META_DEPTH} levels")
    if isinstance(value, str):
        budget[0] -= len(value)
        if "\x00" in value:
            raise InvalidInput(f"metadata value {where} contains a NUL character")
        if _SURROGATE.search(value):
            raise InvalidInput(f"metadata value {where} is not valid Unicode text (it "
                               "contains an unpaired surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"metadata keys must be text, not {type(key).__name__} "
                                   f"({key!r} in {where})")
            budget[0] -= len(key)
            _check_chars(key, f"metadata key {key!r}", _KEY_CONTROL)
            _check_json(item, f"{where}.{key}" if where != "metadata" else repr(key),
                        depth + 1, budget)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1, budget)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInput(f"metadata value {where} is {value!r}, which JSON cannot hold")
    elif value is not None and not isinstance(value, bool | int):
        raise InvalidInput(f"metadata value {where} is a {type(value).__name__}; use text, "
                           "numbers, true/false, null, lists and mappings (JSON)")
    if budget[0] < 0:
        raise InvalidInput(f"metadata is larger than {MAX_META_BYTES // 1024} KiB")


def check_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """Return a JSON-clean copy of a metadata mapping, or refuse it.

    Raises:
        InvalidInput: not a mapping, keys that are not text or hold control characters,
            values JSON cannot hold (sets, objects, NaN), unpaired surrogates or NUL in
            text, nesting deeper than 32 levels, or more than 64 KiB as JSON.
    """
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidInput("metadata must be a mapping with text keys")
    _check_json(meta, "metadata", 0, [MAX_META_BYTES])
    try:
        text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"metadata cannot be stored as JSON: {exc}") from exc
    if len(text.encode("utf-8")) > MAX_META_BYTES:
        raise InvalidInput(f"metadata is larger than {MAX_META_BYTES // 1024} KiB")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


