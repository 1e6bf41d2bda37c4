"""Nesting bombs: JSON, e-mail and XML nested thousands of levels deep are refused cleanly.

Python's parsers recurse once per level; input nested deeper than the stack allows would
end a whole run with a RecursionError. Every parser eakte feeds untrusted input is bounded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_files import W, docx

from eakte.errors import ArchiveImportError, InvalidInput, UnsafeContent
from eakte.ingest.extract import extract_text
from eakte.ingest.limits import (
    MAX_JSON_DEPTH,
    ExtractLimits,
    email_depth,
    json_depth,
    load_json,
    parse_email,
)
from eakte.mapping import FieldMapping


def deep_json(levels: int) -> str:
    return '{"a": ' + "[" * levels + "]" * levels + "}"


def nested_multiparts(levels: int) -> bytes:
    head = [b"From: a@example.org\r\nSubject: tief\r\nMIME-Version: 1.0\r\n"]
    for i in range(levels):
        head.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    head.append(b"Content-Type: text/plain\r\n\r\nInnen\r\n")
    head.extend(b"--b%d--\r\n" % i for i in reversed(range(levels)))
    return b"".join(head)


# -- JSON --------------------------------------------------------------------------------


def test_json_nested_10000_deep_is_refused_before_parsing() -> None:
    with pytest.raises(UnsafeContent, match="deeper than 64 levels"):
        load_json(deep_json(10_000), what="sidecar x.eakte.json")
    with pytest.raises(UnsafeContent, match=r"sidecar x\.eakte\.json"):
        load_json(deep_json(10_000).encode(), what="sidecar x.eakte.json")


def test_json_at_the_limit_parses() -> None:
    # the outer object is one level, the arrays the rest
    assert load_json(deep_json(MAX_JSON_DEPTH - 1))["a"] is not None
    with pytest.raises(UnsafeContent):
        load_json(deep_json(MAX_JSON_DEPTH))


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"titel": "[" * 500 + "{" * 500, "q": 'a\\"[[[["'})
    assert json_depth(text) == 1
    assert load_json(text)["titel"].startswith("[[[")
    # a string still being written (cut off) counts as a string too
    assert json_depth('{"a": "[[[[[[[[[[[[[[[[') == 1


def test_malformed_json_is_invalid_input_with_the_position() -> None:
    with pytest.raises(InvalidInput, match=r"not JSON.*line 1"):
        load_json('{"a": [1, 2}')
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_json(b'{"a": "\xff"}')
    with pytest.raises(InvalidInput, match="not JSON"):  # beyond Python's digit limit
        load_json("[" + "9" * 5000 + "]")


def test_deep_mapping_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(deep_json(10_000), encoding="utf-8")
    with pytest.raises(UnsafeContent, match="mapping"):
        FieldMapping.from_file(path)


# -- e-mail ------------------------------------------------------------------------------


def test_mail_with_5000_nested_multiparts_is_refused() -> None:
    with pytest.raises(UnsafeContent, match="nested too deeply"):
        parse_email(nested_multiparts(5000), what="gift.eml")


def test_mail_nested_beyond_the_limit_is_refused_after_parsing() -> None:
    with pytest.raises(UnsafeContent, match="deeper than 32 levels"):
        parse_email(nested_multiparts(100))
    message = parse_email(nested_multiparts(20))
    assert email_depth(message) == 21


def test_extracting_a_deeply_nested_mail_records_a_failure() -> None:
    for levels in (100, 5000):
        result = extract_text(nested_multiparts(levels), "message/rfc822",
                              filename="tief.eml")
        assert result.status == "failed"
        assert any("nested" in p for p in result.problems), result.problems


# -- XML: libxml2 without huge_tree, and expat with our own depth limit ---------------------


def test_xdomea_xml_nested_deeply_is_refused() -> None:
    from eakte.exchange.xdomea._container import parse_xml

    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    with pytest.raises(ArchiveImportError, match="not well-formed"):
        parse_xml(deep)


def test_xdomea_streaming_validation_of_deep_xml_reports_a_problem(tmp_path: Path) -> None:
    from eakte.exchange.xdomea.schema import validate_file

    path = tmp_path / "tief.xml"
    path.write_bytes(b"<a>" * 10_000 + b"</a>" * 10_000)
    report = validate_file(path, "3.1.0", schemas=None)
    assert report.problems and "XML" in report.problems[0]


def test_office_xml_nested_deeply_is_a_failed_extraction() -> None:
    body = "<w:p>" * 5000 + "<w:r><w:t>x</w:t></w:r>" + "</w:p>" * 5000
    xml = f"<?xml version='1.0'?><w:document xmlns:w='{W}'><w:body>{body}</w:body></w:document>"
    limits = ExtractLimits()
    result = extract_text(docx(xml), "application/vnd.openxmlformats-officedocument."
                          "wordprocessingml.document", filename="tief.docx", limits=limits)
    assert result.status == "failed"
    assert any(f"deeper than {limits.max_xml_depth}" in p for p in result.problems)
