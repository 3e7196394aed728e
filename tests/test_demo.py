"""The synthetic demo cables: realistic telegram format that the real parser reads
field by field, clearly labelled, deterministic, with references, revisions and a
spread of origins, dates and classifications; and a demo archive built by ingest."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime

import pytest

from cablegate import demo, ids, parse_text
from cablegate.demo import DEMO_LABEL


@pytest.fixture(scope="module")
def cables() -> list[demo.DemoCable]:
    return demo.generate(300, seed=2010)


@pytest.fixture(scope="module")
def records(cables) -> list[dict]:
    return [parse_text(c.text) for c in cables]


def test_generation_is_deterministic():
    a, b = demo.generate(40, seed=7), demo.generate(40, seed=7)
    assert [c.text for c in a] == [c.text for c in b]
    assert [c.text for c in demo.generate(40, seed=8)] != [c.text for c in a]


def test_every_cable_is_labelled_synthetic(cables, records):
    for cable, record in zip(cables, records, strict=True):
        assert record["subject"].startswith(f"{DEMO_LABEL} - "), record["subject"]
        first = next(p for p in record["paragraphs"] if p["number"] == "1")
        assert "synthetic demo cable" in first["text"].lower().replace("\n", " ")
        assert "invented" in cable.text


def test_the_parser_reads_every_field_from_the_text(cables, records):
    for cable, record in zip(cables, records, strict=True):
        # The ID comes from the text itself (banner serial + DTG year + sender).
        assert record["reference_id"] == cable.reference_id
        assert record["classification"] == cable.classification
        assert record["origin_code"] == cable.origin_code
        assert record["origin"] == ids.origins()[cable.origin_code].name
        assert record["dtg"] and record["precedence"] in ("IMMEDIATE", "PRIORITY", "ROUTINE")
        assert record["created"].startswith(f"{cable.created:%Y-%m-%dT%H:%M}")
        assert record["tags"] and record["signers"]
        assert record["recipients"]
        assert set(cable.cites) <= set(record["references"])
        numbers = [p["number"] for p in record["paragraphs"] if p["number"]]
        assert numbers == [str(i) for i in range(1, len(numbers) + 1)]
        for para in record["paragraphs"]:  # page-break lines never end up inside a paragraph
            assert not re.search(r"\d{8}\s+\d{3} OF \d{3}", para["text"])
        if cable.created.year >= 1995:
            station = record["transmission_id"].split()[0]
            assert ids.routing_name(station) == record["origin"]
            assert cable.text.startswith("VZCZC")
        if not cable.classification.startswith("UNCLASSIFIED") and cable.created.year >= 1996:
            assert record["classification_reasons"], cable.reference_id
            assert record["declassify_on"] and record["classified_by"]
        if "NOFORN" in cable.classification:
            assert "NOFORN" in record["caveats"]


def test_markings_follow_the_classification(cables, records):
    allowed = {c: set(m) for c, m in demo.MARKINGS.items()}
    marked = 0
    for cable, record in zip(cables, records, strict=True):
        for para in record["paragraphs"]:
            if para["marking"]:
                assert para["marking"] in allowed[cable.classification]
                marked += 1
    assert marked > 500


def test_a_spread_of_origins_dates_and_classifications(cables):
    origins = Counter(c.origin_code for c in cables)
    years = Counter(c.created.year for c in cables)
    assert len(origins) >= 40 and "STATE" in origins
    assert min(years) < 1995 and max(years) == 2010
    assert max(years, key=years.get) in (2007, 2008, 2009)
    assert set(Counter(c.classification for c in cables)) == set(demo.CLASSIFICATIONS)
    assert all(datetime(1985, 1, 1) <= c.created < datetime(2010, 3, 1) for c in cables)
    assert len({c.reference_id for c in cables}) == len(cables)


def test_references_and_revisions(cables):
    by_id = {c.reference_id: c for c in cables}
    citing = [c for c in cables if c.cites]
    assert len(citing) > 100
    for cable in citing:
        for target in cable.cites:
            assert by_id[target].created <= cable.created
    revised = [c for c in cables if c.revised_text]
    assert 5 <= len(revised) <= 40
    for cable in revised:
        assert cable.revised_text != cable.text
        assert parse_text(cable.revised_text)["reference_id"] == cable.reference_id


def test_demo_ids_never_collide_with_real_cables(cables, corpus):
    real: set[str] = set()
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as manifest:
        for row in csv.DictReader(manifest, delimiter="\t"):
            real.update(row["refid"].split(";"))
    assert real and not real & {c.reference_id for c in cables}


def test_build_demo_ingests_a_public_archive(tmp_path):
    from cablegate.db import get_engine
    from cablegate.demo import build_demo
    from cablegate.public import PublicArchive

    engine = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    counts = build_demo(engine, None, count=120, seed=3)
    assert counts["demo-1.jsonl:new"] == counts["cables"] == 120
    assert counts["demo-1.jsonl:rejected"] == 0
    assert counts.get("demo-2.jsonl:new_revision", 0) == counts["revised"]
    archive = PublicArchive(engine, None)
    assert archive.total_count() == 120
    assert 100 <= archive.released_count() < 120  # a few are scheduled after now
    revised = [r for r in archive.iter_records() if "SYNTHETIC" in (r["subject"] or "")]
    assert len(revised) == archive.released_count()
    again = build_demo(engine, None, count=120, seed=3)  # idempotent
    assert again["demo-1.jsonl:new"] == 0 and archive.total_count() == 120
