"""eakte's JSON Schemas: valid, shipped in the wheel, readable from an editable install."""

from __future__ import annotations

import json
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import eakte
from eakte.schemas import SCHEMA_NAMES, load_schema, problems, validate

ROOT = Path(__file__).resolve().parents[1]


def test_every_schema_file_is_listed_and_valid() -> None:
    files = sorted(p.name.removesuffix(".schema.json")
                   for p in (ROOT / "schemas").glob("*.schema.json"))
    assert files == sorted(SCHEMA_NAMES)
    for name in SCHEMA_NAMES:
        Draft202012Validator.check_schema(load_schema(name))


def test_schemas_are_read_through_importlib_resources() -> None:
    # In an editable install eakte/_schemas links to schemas/; in a wheel it is a copy.
    for name in SCHEMA_NAMES:
        resource = resources.files("eakte").joinpath("_schemas", f"{name}.schema.json")
        assert json.loads(resource.read_text("utf-8")) == json.loads(
            (ROOT / "schemas" / f"{name}.schema.json").read_text("utf-8"))


def test_the_wheel_ships_the_schemas(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    wheel = next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path),
                                                     versions=["standard"])))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in SCHEMA_NAMES:
            member = f"eakte/_schemas/{name}.schema.json"
            assert member in names
            assert json.loads(zf.read(member)) == load_schema(name)


def test_validate_lists_every_problem() -> None:
    found = problems({"object_id": 5, "documents": [{"file": "a/b"}]}, "dropfolder-sidecar")
    assert any(p.startswith("object_id:") for p in found)
    assert any("documents[0]" in p and "sha256" in p for p in found)
    assert any("documents[0].file" in p for p in found)
    with pytest.raises(eakte.InvalidInput, match="sidecar x"):
        validate({}, "dropfolder-sidecar", what="sidecar x")


def test_unknown_schema_and_inline_schema() -> None:
    with pytest.raises(eakte.NotFoundError):
        load_schema("nope")
    validate(3, {"type": "integer"}, what="n")
    with pytest.raises(eakte.InvalidInput, match="not a valid JSON Schema"):
        validate(3, {"type": 12}, what="n")
