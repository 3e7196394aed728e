"""The whole shared corpus through cablegate.parse.parse_inputs: no errors,
per-field coverage locked at the level reached, record invariants, and the
same cable in several snapshots/formats giving the same record."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from cablegate.errors import ParseError
from cablegate.parse import parse_inputs
from cablegate.record import FIELDS
from cablegate.report import Coverage

# Share of the 2,020 corpus records (2,019 files, the CSV holds two) where the
# field is non-empty, as reached on 2026-11-27 (also in docs/parsing.md). The
# test fails when a change makes any of them drop.
COVERAGE_FLOOR = {
    "reference_id": 1.0,
    "created": 0.9698,
    "released": 0.9614,
    "classification": 0.9985,
    "origin": 0.996,
    "origin_code": 1.0,
    "subject": 0.9708,
    "tags": 0.995,
    "references": 0.6109,
    "references_raw": 0.6287,
    "recipients": 0.8752,
    "info_recipients": 0.8208,
    "signers": 0.8663,
    "classified_by": 0.703,
    "classification_reasons": 0.6985,
    "declassify_on": 0.7089,
    "precedence": 0.8748,
    "dtg": 0.8807,
    "transmission_id": 0.8124,
    "caveats": 0.955,
    "summary": 0.6639,
    "paragraphs": 0.996,
    "media_urls": 0.2252,
    "partial": 0.096,
    "header": 0.8817,
    "body": 0.9985,
    "source": 1.0,
}
EPSILON = 0.0005  # one record in 2,020

# The 28 cables whose text differs between the 2010-12 and 2011-04 snapshots
# (../shared/corpus/SOURCES.md).
TEXT_CHANGED = set(
    "04RANGOON1100 05SOFIA1207 08KYIV2414 08LONDON1991 08OTTAWA918 08PARIS1698 08RANGOON749 "
    "08STATE93970 08USNATO453 09ABUJA259 09BAKU687 09BERLIN1162 09CAIRO746 09CAIRO874 "
    "09ISLAMABAD10 09LONDON2005 09LONDON2222 09PARIS1039 09SAOPAULO653 09STATE124636 "
    "09STATE15113 09STATE68250 09TRIPOLI1025 10ASTANA72 10ISLAMABAD428 10MADRID49 10ROME1 "
    "10TRIPOLI95".split()
)

# Fields that come from the text of the cable (header and body).
TEXT_FIELDS = {
    "subject", "tags", "references", "references_raw", "recipients", "info_recipients",
    "signers", "classified_by", "classification_reasons", "declassify_on", "precedence", "dtg",
    "transmission_id", "caveats", "summary", "paragraphs", "header", "body",
}
HEADER_FIELDS = {"dtg", "transmission_id", "recipients", "info_recipients", "precedence", "header"}

# Fields that may differ from the 2011-04 page of the same cable, per source
# format, and why. Everything else must be equal.
MAY_DIFFER = {
    # every source: where the input came from, and what was worth a warning there
    "*": {"source", "warnings"},
    # the December 2010 snapshot: cables were re-released (Released timestamp),
    # and that layout has no "Appears in these articles" row
    "cablegate-html-2010-12": {"released", "media_urls"},
    # the final (2011-08) site: re-released, Created times corrected (the 2011-04
    # ones often repeat the hour as minutes); whitespace of the text differs
    "cablegate-html-2011-08-final": {"released", "created", "media_urls", "header", "body"},
    # cables.csv: no Released column, its own Created; the text is the same
    # cable typed slightly differently (TAGS with commas, whitespace)
    "cables-csv": {"released", "created", "media_urls", "header", "body"},
    # reveal: the body <pre> only. No header, no metadata: the header fields are
    # empty, created/released unknown, the partial notice (in the header <pre>)
    # absent, classification from the banner, origin only from a confirmed name
    "reveal-body-txt": HEADER_FIELDS | {
        "created", "released", "partial", "media_urls", "classification", "origin"},
    # alx: both <pre> blocks run together (whitespace), the date without time,
    # no Released; two files are header-only stubs with no text at all
    "alx-txt": {"created", "released", "media_urls", "header", "body", "partial"},
    "wikileaks-cable-pdf": {"created", "released", "media_urls", "header", "body"},
}


@pytest.fixture(scope="module")
def records(corpus) -> list[dict]:
    items = list(parse_inputs([corpus]))
    errors = [item for item in items if isinstance(item, ParseError)]
    assert errors == [], [e.message for e in errors]
    return items


def test_every_cable_parses(records) -> None:
    assert len(records) == 2020
    assert len({r["reference_id"] for r in records}) == 1617
    assert all(list(r) == list(FIELDS) for r in records)


def test_coverage_does_not_regress(records) -> None:
    coverage = Coverage()
    for record in records:
        coverage.add(record)
    reached = coverage.as_dict()["coverage"]
    low = {name: (reached[name], floor) for name, floor in COVERAGE_FLOOR.items()
           if reached[name] < floor - EPSILON}
    assert low == {}, low
    assert reached["warnings"] <= 0.01  # warnings stay exceptional


ISO_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
CANONICAL = re.compile(r"\d{2}[A-Z]+[1-9]\d*")
REASON = re.compile(r"(?:1\.[45])?\([a-h]\)")
PAGE_BREAK = re.compile(r"\d{8}\s+\d{3}(?:\.\d)?\s+OF\s+\d{3}")
OLD_PAGE = re.compile(r"(?m)^\s*PAGE \d{2,3}\s+[A-Z]{2,}")


def test_record_invariants(records) -> None:
    """Shapes every record keeps on the real corpus."""
    for record in records:
        ref = record["reference_id"]
        for name in ("created", "released"):
            assert record[name] is None or ISO_MINUTE.fullmatch(record[name]), (ref, name)
        assert record["declassify_on"] is None or re.fullmatch(
            r"\d{4}-\d{2}-\d{2}", record["declassify_on"]), ref
        assert all(CANONICAL.fullmatch(r) for r in record["references"]), ref
        assert ref not in record["references"]
        assert len(set(record["references"])) == len(record["references"])
        assert all(REASON.fullmatch(r) for r in record["classification_reasons"]), ref
        assert record["classification_reasons"] == sorted(set(record["classification_reasons"]))
        assert record["precedence"] in (None, "FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE",
                                         "NIACT IMMEDIATE")
        for paragraph in record["paragraphs"]:
            assert paragraph["number"] is None or paragraph["number"].isdigit()
            assert not PAGE_BREAK.search(paragraph["text"]), (ref, paragraph["number"])
            assert not OLD_PAGE.search(paragraph["text"]), (ref, paragraph["number"])
        if record["subject"]:
            assert "\n" not in record["subject"] and not PAGE_BREAK.search(record["subject"])
        for signer in record["signers"]:
            assert 2 <= len(signer) <= 40 and not any(c.isdigit() for c in signer), (ref, signer)


def test_same_cable_same_record_across_snapshots_and_formats(records) -> None:
    by_id: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_id[record["reference_id"]].append(record)
    compared = 0
    for ref, group in by_id.items():
        base = next((r for r in group if "/2011-04_avilaroman/" in r["source"]["path"]), None)
        if base is None or len(group) < 2:
            continue
        for other in group:
            if other is base:
                continue
            fmt = other["source"]["format"]
            allowed = MAY_DIFFER["*"] | MAY_DIFFER.get(fmt, set())
            if ref in TEXT_CHANGED and fmt == "cablegate-html-2010-12":
                allowed |= TEXT_FIELDS  # the text really changed between the snapshots
            if not (other["body"] or "").strip():
                allowed |= TEXT_FIELDS | {"partial"}  # a header-only stub (alx)
            differing = {f for f in FIELDS if base[f] != other[f]} - allowed
            assert differing == set(), (ref, fmt, sorted(differing))
            compared += 1
    assert compared >= 400  # 334 + 7 + 2 + 60 + 2 pairs with a 2011-04 page


def test_unchanged_snapshots_have_identical_text(records) -> None:
    """Outside the 28 listed cables, the 2010-12 and 2011-04 texts are equal,
    so their whole records (but release data) are too."""
    pages: dict[str, dict[str, dict]] = defaultdict(dict)
    for record in records:
        pages[record["reference_id"]][record["source"]["format"]] = record
    pairs = 0
    for ref, formats in pages.items():
        old, new = formats.get("cablegate-html-2010-12"), formats.get("cablegate-html-2011-04")
        if not old or not new or ref in TEXT_CHANGED:
            continue
        if old["source"]["path"].count("2011-04") or new["source"]["path"].count("2010-12"):
            continue  # a page whose layout was read as the other snapshot's
        assert old["body"] == new["body"], ref
        assert old["paragraphs"] == new["paragraphs"], ref
        pairs += 1
    assert pairs >= 300
