"""The public gate (public.py): release times and redactions, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from _records import make_record, write
from sqlalchemy import select

from cablegate import db, store
from cablegate.public import REDACTED, PublicArchive, redact_text, redaction_pattern
from cablegate.schema import redactions

NOW = datetime(2011, 1, 1, 12, 0)
EMBARGOED = NOW + timedelta(days=10)


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    write(engine, [
        make_record("07MOSCOW1", references=["08PARIS2", "09ROME3", "99NOWHERE1"],
                    tags=["PGOV", "PREL"], released="2010-12-06 12:12"),
        make_record("08PARIS2", created="2008-02-03 10:00", origin="Embassy Paris",
                    classification="SECRET", tags=["PGOV"], references=["07MOSCOW1"],
                    released="2010-12-06 15:00"),
        make_record("09ROME3", created="2009-03-04 10:00", origin="Embassy Rome",
                    tags=["MARKERTAG"], body="EMBARGOED ZEBRAMARKER TEXT",
                    subject="ZEBRAMARKER SUBJECT", references=["07MOSCOW1"],
                    released=EMBARGOED.strftime("%Y-%m-%d %H:%M")),
    ])
    yield engine
    engine.dispose()


def archive(engine, now=NOW) -> PublicArchive:
    return PublicArchive(engine, None, now=now)


def test_an_embargoed_cable_does_not_exist(engine):
    pub = archive(engine)
    assert pub.get_cable("09ROME3") is None
    assert pub.get_revision("09ROME3", 1) is None
    assert pub.diff("09ROME3", 1, 1) is None
    assert (pub.released_count(), pub.total_count()) == (2, 3)
    assert [s["reference_id"] for s in pub.latest(10)] == ["08PARIS2", "07MOSCOW1"]
    assert pub.browse("origin", "Embassy Rome") == (0, [])
    assert ("MARKERTAG", 1) not in pub.facet_counts("tag")
    assert "Embassy Rome" not in dict(pub.facet_counts("origin"))
    assert [r["reference_id"] for r in pub.iter_records()] == ["07MOSCOW1", "08PARIS2"]
    cable = pub.get_cable("07MOSCOW1")
    # A reference to it shows as not in the archive; it cites nothing publicly.
    assert cable["unresolved_references"] == ["09ROME3", "99NOWHERE1"]
    assert [c["reference_id"] for c in cable["cited_by"]] == ["08PARIS2"]
    assert "ZEBRAMARKER" not in repr(cable) + repr(pub.public_documents(["09ROME3"]))


def test_it_appears_at_its_release_time(engine):
    pub = archive(engine, now=lambda: EMBARGOED)
    cable = pub.get_cable("09ROME3")
    assert cable["body"] == "EMBARGOED ZEBRAMARKER TEXT"
    assert cable["released"] == EMBARGOED.strftime("%Y-%m-%d %H:%M")
    moscow = pub.get_cable("07MOSCOW1")
    assert moscow["unresolved_references"] == ["99NOWHERE1"]
    assert {c["reference_id"] for c in moscow["cited_by"]} == {"08PARIS2", "09ROME3"}
    assert pub.released_count() == 3


def test_public_record_shape(engine):
    cable = archive(engine).get_cable("07MOSCOW1")
    assert cable["cites"][0] == {"reference_id": "08PARIS2", "in_archive": True,
                                 "url_date": ("2008", "02")}
    assert cable["revisions"][0]["revision"] == 1
    assert set(cable["revisions"][0]) == {"revision", "ingested_at", "released", "source_format"}
    assert cable["source"] == {"format": "text"}  # no ingest host paths in public
    assert cable["released"] == "2010-12-06 12:12"


def test_redactions_reach_every_text_field_and_keep_the_layout(engine):
    write(engine, [make_record(
        "07MOSCOW1", body="1. (C) WE MET JOHN\nSMITH, OUR SOURCE.\n2. JOHN SMITH AGAIN.",
        subject="TALK WITH JOHN SMITH", summary="John Smith said so.",
        paragraphs=["1. (C) WE MET JOHN SMITH, OUR SOURCE.", "2. JOHN SMITH AGAIN."],
        references=["08PARIS2"],
    )])
    with db.writing(engine) as conn:
        store.add_redaction(conn, "07MOSCOW1", "John Smith", reason="protect source",
                            created_by="editor", now=NOW, field="body", start=14, end=24)
    pub = archive(engine)
    cable = pub.get_cable("07MOSCOW1")
    assert "SMITH" not in repr(cable).upper()
    assert cable["body"] == (f"1. (C) WE MET {REDACTED}\n{REDACTED}, OUR SOURCE.\n"
                             f"2. {REDACTED} AGAIN.")
    assert cable["subject"] == f"TALK WITH {REDACTED}"
    assert cable["paragraphs"][1] == f"2. {REDACTED} AGAIN."
    # Every revision, its diff, summaries and "cited by" lists are redacted too.
    assert "SMITH" not in repr(pub.get_revision("07MOSCOW1", 1)) + repr(
        pub.get_revision("07MOSCOW1", 2))
    assert "SMITH" not in repr(pub.diff("07MOSCOW1", 1, 2))
    assert "SMITH" not in repr(pub.browse("tag", "PGOV")) + repr(pub.latest(5))
    assert "SMITH" not in repr(pub.get_cable("08PARIS2")["cited_by"])
    assert "SMITH" not in repr(list(pub.iter_records()))
    # The original stays for editors.
    with engine.connect() as conn:
        assert "JOHN\nSMITH" in store.get_record(conn, "07MOSCOW1")["body"]
        rid = conn.execute(select(redactions.c.id)).scalar()
    with db.writing(engine) as conn:
        store.lift_redaction(conn, rid, by="editor", now=NOW)
    assert "JOHN SMITH AGAIN" in archive(engine).get_cable("07MOSCOW1")["body"]


def test_redaction_pattern_rules():
    pattern = redaction_pattern(["Ali", "ali baba", "  "])
    assert redact_text("ALI BABA and Ali", pattern) == f"{REDACTED} and {REDACTED}"
    assert redaction_pattern([]) is None and redact_text("x", None) == "x"
    # Regex characters in a span are literal.
    assert redact_text("a (b) c", redaction_pattern(["(b)"])) == f"a {REDACTED} c"


def test_browse_kinds_sorts_and_pages(engine):
    pub = archive(engine, now=EMBARGOED)
    total, page = pub.browse("tag", "PGOV", sort="-created")
    assert total == 2 and [s["reference_id"] for s in page] == ["08PARIS2", "07MOSCOW1"]
    assert pub.browse("date", "2008-02")[0] == 1
    assert pub.browse("date", "2007-05")[1][0]["reference_id"] == "07MOSCOW1"
    assert pub.browse("reldate", "2010-12-06")[0] == 2
    assert pub.browse("classification", "SECRET")[1][0]["reference_id"] == "08PARIS2"
    total, page = pub.browse("reldate", "2010-12-06", sort="released", offset=1, limit=1)
    assert total == 2 and [s["reference_id"] for s in page] == ["08PARIS2"]
    assert set(page[0]) == {"reference_id", "subject", "created", "released", "origin",
                            "classification", "tags"}
    with pytest.raises(ValueError):
        pub.browse("colour", "red")
    with pytest.raises(ValueError):
        pub.browse("date", "2008-13")
    with pytest.raises(ValueError):
        pub.browse("tag", "PGOV", sort="random")


def test_facet_counts(engine):
    pub = archive(engine, now=EMBARGOED)
    assert pub.facet_counts("tag")[0] == ("PGOV", 2)
    assert pub.facet_counts("date") == [("2007-05", 1), ("2008-02", 1), ("2009-03", 1)]
    assert pub.facet_counts("reldate") == [("2010-12-06", 2),
                                           (EMBARGOED.strftime("%Y-%m-%d"), 1)]
    assert pub.facet_counts("year") == [("2007", 1), ("2008", 1), ("2009", 1)]
    assert pub.facet_counts("classification") == [("CONFIDENTIAL", 2), ("SECRET", 1)]
