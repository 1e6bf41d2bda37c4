"""Declarative field mappings: schema validation, templates, lookups, required fields."""

from __future__ import annotations

import json

import pytest

import eakte
from eakte.mapping import FieldMapping, lookup_field

FIELDS = {"antrag": {"nummer": "BA-7", "geschosse": 2}, "art": "neubau", "adresse": "Weg 1",
          "object_id": "BA-7", "leer": None, "liste": ["a", "b"]}


def test_templates_lookups_and_types() -> None:
    mapping = FieldMapping({
        "akte": {"plan_unit": {"field": "art", "map": {"neubau": "630.10"}, "default": "630"},
                 "title": "Bau {adresse} ({antrag.nummer}) {{fest}}", "retention_years": 30,
                 "metadata": {"geschosse": "{antrag.geschosse}", "text": "G{antrag.geschosse}",
                              "leer": "{leer}", "zweites": "{liste.1}"}},
    })
    target = mapping.akte(FIELDS)
    assert target.plan_unit == "630.10"
    assert target.title == "Bau Weg 1 (BA-7) {fest}"
    assert target.retention_years == 30 and target.create
    assert target.metadata == {"geschosse": 2, "text": "G2", "leer": None, "zweites": "b"}
    assert mapping.akte({**FIELDS, "art": "abriss"}).plan_unit == "630"


def test_missing_field_and_unmapped_value_are_clear_errors() -> None:
    mapping = FieldMapping({"akte": {"title": "{fehlt}"}})
    with pytest.raises(eakte.InvalidInput, match="'fehlt'"):
        mapping.akte(FIELDS)
    mapping = FieldMapping({"akte": {"plan_unit": {"field": "art", "map": {"x": "1"}}}})
    with pytest.raises(eakte.InvalidInput, match=r"'neubau'.*no default"):
        mapping.akte(FIELDS)


def test_schema_problems_are_listed_together() -> None:
    with pytest.raises(eakte.InvalidInput) as info:
        FieldMapping({"akte": {"titel": "x", "create": "sometimes"}, "extra": 1})
    message = str(info.value)
    assert "titel" in message and "sometimes" in message and "extra" in message


@pytest.mark.parametrize("template", ["{", "}", "a{b", "{a b}", "{1x}", "{}"])
def test_malformed_templates_are_refused_when_loading(template: str) -> None:
    with pytest.raises(eakte.InvalidInput, match=r"akte\.title"):
        FieldMapping({"akte": {"title": template}})


def test_required_fields() -> None:
    mapping = FieldMapping({"required_fields": ["antrag.nummer", "leer", "nirgends"]})
    with pytest.raises(eakte.InvalidInput, match="leer, nirgends"):
        mapping.check_fields(FIELDS)


def test_from_file(tmp_path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"system": "bauportal", "vorgang": {"title": "{x}"}}))
    mapping = FieldMapping.from_file(path)
    assert mapping.system == "bauportal"
    assert mapping.vorgang({"x": "T"}).title == "T"
    path.write_text("{nope")
    with pytest.raises(eakte.InvalidInput, match="not JSON"):
        FieldMapping.from_file(path)


def test_lookup_field_prefers_dotted_keys() -> None:
    assert lookup_field({"a.b": 1, "a": {"b": 2}}, "a.b") == 1
    with pytest.raises(KeyError):
        lookup_field({"a": {"b": 2}}, "a.c")
