"""Declarative mapping from a Fachverfahren's fields to Akte, Vorgang and document metadata.

A mapping is JSON (schema ``schemas/mapping.schema.json``), checked when it is loaded::

    {
      "system": "bauportal",
      "required_fields": ["antrag.nummer", "vorhaben.adresse"],
      "akte": {
        "key": "{vorhaben.flurstueck}",
        "plan_unit": {"field": "verfahren", "map": {"neubau": "630.10"}, "default": "630"},
        "title": "Bauvorhaben {vorhaben.adresse}",
        "confidentiality": "offen",
        "retention_years": 30
      },
      "vorgang": {"title": "Bauantrag {antrag.nummer}",
                  "metadata": {"antragsteller": "{antragsteller.name}"}},
      "document": {"kind": "incoming"}
    }

Values are templates (``{name}`` takes a field by dotted name, ``{{``/``}}`` are literal
braces; a template that is exactly ``{name}`` keeps the field's JSON type) or lookups
(``{"field": …, "map": {…}, "default": …}``). Besides the record's fields, templates see
``object_id``, ``system``, ``year`` and ``today``; in the ``document`` section also
``document_id``, ``filename`` and ``title`` (the record's own title, or its file name).
These names win over fields of the same name.

Nothing of the record is dropped: the filing API stores every field verbatim under the
``fields`` key of the Vorgang's metadata (or, without a Vorgang, of each document), next to
what the mapping derives.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eakte.errors import InvalidInput
from eakte.ingest.limits import load_json
from eakte.schemas import validate

__all__ = ["AkteTarget", "DocumentSpec", "FieldMapping", "VorgangSpec", "lookup_field"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[^\W\d][\w-]*(\.[\w-]+)*$")
_MISSING = object()


def lookup_field(fields: Mapping[str, Any], name: str) -> Any:
    """Return the value of the dotted field ``name`` (``"antrag.nummer"``) in ``fields``.

    A key that contains dots itself is found too (``{"antrag.nummer": …}``).

    Raises:
        KeyError: the field is missing.
    """
    if name in fields:
        return fields[name]
    value: Any = fields
    for part in name.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise KeyError(name)
    return value


def _check_template(template: str, where: str) -> None:
    for match in _PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise InvalidInput(f"mapping {where}: unmatched {token!r} in {template!r} "
                               "(write {{ or }} for a literal brace)")
        if not _NAME.match(name.strip()):
            raise InvalidInput(f"mapping {where}: {{{name}}} is not a field name")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _render(template: str, context: Mapping[str, Any], where: str) -> Any:
    whole = _PLACEHOLDER.fullmatch(template)
    if whole is not None and whole.group(1) is not None:
        return _get(context, whole.group(1).strip(), where)

    def one(match: re.Match[str]) -> str:
        brace = match.group(0)
        if brace in ("{{", "}}"):
            return brace[0]
        return _text(_get(context, match.group(1).strip(), where))

    return _PLACEHOLDER.sub(one, template)


def _get(context: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return lookup_field(context, name)
    except KeyError:
        raise InvalidInput(
            f"mapping {where} uses field {name!r}, which the record does not have"
        ) from None


def _resolve(spec: Any, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(spec, str):
        return _render(spec, context, where)
    if isinstance(spec, Mapping):
        raw = _get(context, spec["field"], where)
        key = _text(raw)
        table = spec["map"]
        if key in table:
            return table[key]
        if "default" in spec:
            return spec["default"]
        raise InvalidInput(
            f"mapping {where}: field {spec['field']!r} has the value {key!r}, which the map "
            f"does not list (known: {', '.join(sorted(table)) or 'none'}) and there is no "
            "default"
        )
    return spec


def _scalar(value: Any, where: str) -> str | None:
    if value is None:
        return None
    text = _text(value).strip()
    return text or None


@dataclass(frozen=True)
class AkteTarget:
    """Where a case goes, as the mapping resolved it for one record.

    Attributes:
        aktenzeichen: an existing Akte to file into (wins over ``key``).
        key: the Akte's external key under the mapping's system.
        create: create the Akte if no Akte has ``key``.
        plan_unit: Kennzeichen of the Aktenplan unit for a new Akte.
        title: title of a new Akte.
        confidentiality: Vertraulichkeitsstufe of a new Akte.
        org_unit: owning organisational unit of a new Akte.
        retention_years: retention of a new Akte: years, ``"unlimited"``, or None (the
            unit's default).
        metadata: metadata of a new Akte.
    """

    aktenzeichen: str | None = None
    key: str | None = None
    create: bool = True
    plan_unit: str | None = None
    title: str | None = None
    confidentiality: str | None = None
    org_unit: str | None = None
    retention_years: int | str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VorgangSpec:
    """Title and metadata of a case's Vorgang, as the mapping resolved them."""

    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentSpec:
    """Title, kind and metadata of a document, as the mapping resolved them."""

    title: str | None = None
    kind: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class FieldMapping:
    """A validated mapping from Fachverfahren fields to records metadata.

    Example:
        >>> m = FieldMapping({"akte": {"plan_unit": "630.10", "title": "Bau {adresse}"}})
        >>> m.akte({"adresse": "Lindenstraße 4", "object_id": "BA-1"}).title
        'Bau Lindenstraße 4'

    Args:
        spec: the parsed JSON of the mapping.
        source: where it came from, for error messages.

    Raises:
        InvalidInput: the mapping breaks its schema or has a malformed template; the
            message lists every schema problem.
    """

    def __init__(self, spec: Mapping[str, Any], *, source: str = "mapping") -> None:
        validate(spec, "mapping", what=source)
        self.spec: dict[str, Any] = json.loads(json.dumps(spec))
        self.source = source
        for section in ("akte", "vorgang", "document"):
            for key, value in (self.spec.get(section) or {}).items():
                self._check(value, f"{section}.{key}")

    def _check(self, value: Any, where: str) -> None:
        if isinstance(value, str):
            _check_template(value, where)
        elif isinstance(value, Mapping) and "map" not in value:  # a metadata block
            for key, item in value.items():
                self._check(item, f"{where}.{key}")
        elif isinstance(value, Mapping):
            if not _NAME.match(value["field"]):
                raise InvalidInput(f"mapping {where}: {value['field']!r} is not a field name")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> FieldMapping:
        """Load a mapping from a JSON file.

        Raises:
            InvalidInput: the file is unreadable, not JSON, or not a valid mapping.
        """
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read mapping {where!r}: {exc}") from exc
        spec = load_json(text, what=f"mapping {where!r}")
        return cls(spec, source=f"mapping {where!r}")

    @property
    def system(self) -> str | None:
        """The Fachverfahren's name for external keys, if the mapping sets one."""
        value = self.spec.get("system")
        return str(value) if value else None

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Fields every record must carry."""
        return tuple(self.spec.get("required_fields") or ())

    def check_fields(self, fields: Mapping[str, Any]) -> None:
        """Refuse a record that lacks a required field.

        Raises:
            InvalidInput: names every missing field.
        """
        missing = []
        for name in self.required_fields:
            try:
                value = lookup_field(fields, name)
            except KeyError:
                missing.append(name)
                continue
            if value is None or value == "":
                missing.append(name)
        if missing:
            raise InvalidInput(f"the record lacks required field(s): {', '.join(missing)}")

    def _section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.spec.get(name) or {}
        return section

    def _metadata(self, section: str, context: Mapping[str, Any]) -> dict[str, Any]:
        block = self._section(section).get("metadata") or {}
        return {key: _resolve(spec, context, f"{section}.metadata.{key}")
                for key, spec in block.items()}

    def akte(self, context: Mapping[str, Any]) -> AkteTarget:
        """Resolve the ``akte`` section for one record.

        Raises:
            InvalidInput: a field it uses is missing, or a lookup has no match.
        """
        section = self._section("akte")

        def value(key: str) -> Any:
            return _resolve(section[key], context, f"akte.{key}") if key in section else None

        retention = value("retention_years")
        if isinstance(retention, str) and retention.strip().isdigit():
            retention = int(retention.strip())
        if retention is not None and not isinstance(retention, int) and retention != "unlimited":
            raise InvalidInput(f"mapping akte.retention_years resolved to {retention!r}; "
                               "expected a number of years or 'unlimited'")
        return AkteTarget(
            aktenzeichen=_scalar(value("aktenzeichen"), "akte.aktenzeichen"),
            key=_scalar(value("key"), "akte.key"),
            create=section.get("create", "if_missing") != "never",
            plan_unit=_scalar(value("plan_unit"), "akte.plan_unit"),
            title=_scalar(value("title"), "akte.title"),
            confidentiality=_scalar(value("confidentiality"), "akte.confidentiality"),
            org_unit=_scalar(value("org_unit"), "akte.org_unit"),
            retention_years=retention,
            metadata=self._metadata("akte", context),
        )

    def vorgang(self, context: Mapping[str, Any]) -> VorgangSpec:
        """Resolve the ``vorgang`` section for one record.

        Raises:
            InvalidInput: a field it uses is missing, or a lookup has no match.
        """
        section = self._section("vorgang")
        title = _resolve(section["title"], context, "vorgang.title") if "title" in section \
            else None
        return VorgangSpec(title=_scalar(title, "vorgang.title"),
                           metadata=self._metadata("vorgang", context))

    def document(self, context: Mapping[str, Any]) -> DocumentSpec:
        """Resolve the ``document`` section for one document of a record.

        Raises:
            InvalidInput: a field it uses is missing, or a lookup has no match.
        """
        section = self._section("document")

        def value(key: str) -> str | None:
            if key not in section:
                return None
            return _scalar(_resolve(section[key], context, f"document.{key}"), key)

        return DocumentSpec(title=value("title"), kind=value("kind"),
                            metadata=self._metadata("document", context))

    def __repr__(self) -> str:
        return f"<FieldMapping {self.source}>"
