"""cablegate.jsoncodec: orjson where it gives what the json module gives, json otherwise."""

from __future__ import annotations

import json
from types import SimpleNamespace

from cablegate import jsoncodec, store
from cablegate.record import FIELDS


def _record_by_json(row) -> dict:
    """store.record_from_row as it was, by the json module."""
    stored = json.loads(row.record)
    stored["header"], stored["body"] = row.header, row.body
    return {name: stored.get(name) for name in FIELDS}


PAGE_DATA = [
    {"reference_id": "07MOSCOW1", "body": "é ¶ — \U0001f600 \"q\" \\ \x00\x1f\x7f\u2028",
     "tags": ["PREL", "PGOV"], "n": 3, "neg": -2**63, "partial": False, "none": None,
     "nested": {"list": [1, [2, {"k": "v"}]], "empty": {}}},
    {"results": [], "next": None, "page": 0},
]


def _by_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def test_compact_bytes_by_orjson_are_jsons_bytes():
    for data in PAGE_DATA:
        assert jsoncodec.compact_text(data) == _by_json(data)
        assert jsoncodec.compact_bytes(data) == _by_json(data).encode()


def test_stored_record_text_is_jsons():
    """store.prepare writes the record JSON with compact_text: json's text."""
    from cablegate.parse import parse_text

    record = parse_text("SUBJECT: Caf\u00e9 \"talks\" \u00b6 1.\n\n1. (C) Text \u2028 here.\n")
    prepared = store.prepare({**record, "reference_id": "07MOSCOW1", "body": "x"})
    assert prepared.record_json == _by_json(json.loads(prepared.record_json))
    assert json.loads(prepared.record_json)["subject"] == record["subject"]


def test_what_orjson_would_write_differently_goes_to_json():
    for data in ({1: "int key"}, {"big": 2**70}, {"f": 1e16}):
        assert json.loads(jsoncodec.compact_bytes(data)) == json.loads(jsoncodec.compact_text(data))
    assert jsoncodec.compact_bytes({1: "int key"}) == b'{"1":"int key"}'
    assert jsoncodec.compact_bytes({"big": 2**70}) == jsoncodec.compact_text({"big": 2**70}).encode()
    assert jsoncodec.compact_text({"s": "\ud800"}) == _by_json({"s": "\ud800"})  # lone surrogate


def test_stored_records_read_by_orjson_are_jsons():
    stored = {"reference_id": "07MOSCOW1", "subject": "é \U0001f600 \"x\"", "tags": ["A"],
              "paragraphs": [{"number": 1, "text": "a"}], "partial": True}
    texts = [json.dumps(stored), json.dumps(stored, ensure_ascii=False),
             '{"subject": NaN, "tags": [18446744073709551616]}',  # orjson refuses these
             '{"subject": "\\ud800"}']
    for text in texts:
        row = SimpleNamespace(record=text, header="HEADER", body="BODY")
        ours, plain = store.record_from_row(row), _record_by_json(row)
        assert list(ours) == list(FIELDS)
        assert repr(ours) == repr(plain)  # NaN != NaN: compare the spelled-out values
