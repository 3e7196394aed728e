"""The raw archive (store.py, db.py, schema, migrations) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from _records import T0, make_record, write
from sqlalchemy import func, select

from cablegate import db, store
from cablegate.diffing import DELETE, EQUAL, INSERT, render_plain, tokens, word_diff
from cablegate.schema import cable_tags, cables, changes, links, metadata, rejects, revisions


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    yield engine
    engine.dispose()


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- schema


def test_migrations_create_exactly_the_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diffs == []
        assert db.current_revision(conn) == db.head_revision()


def test_upgrade_is_idempotent_and_keeps_data(engine, db_url):
    write(engine, [make_record("07MOSCOW1")])
    db.upgrade(engine)
    again = db.get_engine(db_url)
    assert count(again, cables) == 1
    again.dispose()


def test_sqlite_file_is_plain_sqlite(tmp_path):
    import sqlite3

    engine = db.get_engine(f"sqlite:///{tmp_path / 'a.db'}")
    write(engine, [make_record("07MOSCOW1", tags=["PGOV"])])
    engine.dispose()
    with sqlite3.connect(tmp_path / "a.db") as plain:
        (tags,) = plain.execute("SELECT tags FROM cables").fetchone()
        assert json.loads(tags) == ["PGOV"]
        (rec,) = plain.execute("SELECT record FROM revisions").fetchone()
        assert json.loads(rec)["reference_id"] == "07MOSCOW1"
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_index_path_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("CABLEGATE_INDEX", raising=False)
    assert str(db.index_path("sqlite:///x/cablegate.db")) == "x/cablegate.db.index"
    assert str(db.index_path("postgresql+psycopg://h/db")) == db.DEFAULT_INDEX_DIR
    assert str(db.index_path("postgresql+psycopg://h/db", tmp_path)) == str(tmp_path)
    monkeypatch.setenv("CABLEGATE_INDEX", "/srv/idx")
    assert str(db.index_path("sqlite:///a.db")) == "/srv/idx"


# --------------------------------------------------------------------------- revisions


def test_new_unchanged_and_new_revision(engine):
    first = write(engine, [make_record("07MOSCOW1"), make_record("07MOSCOW2")])
    assert (first.new, first.new_revision, first.unchanged) == (2, 0, 0)
    again = write(engine, [make_record("07MOSCOW1"), make_record("07MOSCOW2")])
    assert (again.new, again.new_revision, again.unchanged) == (0, 0, 2)
    # Same text, other source and Released value: still the same revision.
    moved = make_record("07MOSCOW1", released="2011-04-01 00:00",
                        source={"path": "/other.html", "format": "cablegate-html-2011-04"})
    assert write(engine, [moved]).unchanged == 1
    changed = write(engine, [make_record("07MOSCOW1", body="BODY TEXT, RE-REDACTED")])
    assert (changed.new, changed.new_revision) == (0, 1)
    assert count(engine, revisions) == 3
    with engine.connect() as conn:
        row = store.get_cable(conn, "07MOSCOW1")
        assert (row.current_revision, row.revision_count) == (2, 2)
        assert store.get_record(conn, "07MOSCOW1")["body"] == "BODY TEXT, RE-REDACTED"
        assert store.get_record(conn, "07MOSCOW1", 1)["body"] == "BODY TEXT"
        assert [r["revision"] for r in store.list_revisions(conn, "07MOSCOW1")] == [1, 2]
    # Going back to an earlier text is not a new revision either.
    assert write(engine, [make_record("07MOSCOW1")]).unchanged == 1


def test_record_round_trips_exactly(engine):
    record = make_record("07MOSCOW1", tags=["PGOV", "PREL"], paragraphs=["1. (C) ONE", "2. TWO"],
                         references=["06PARIS3"], partial=True, warnings=["odd DTG"],
                         body="¶1. (C) Ünïcode “quotes”\n  indented \n")
    write(engine, [record])
    with engine.connect() as conn:
        assert store.get_record(conn, "07MOSCOW1") == record


def test_two_texts_of_a_new_cable_in_one_batch(engine):
    result = write(engine, [make_record("07MOSCOW1"), make_record("07MOSCOW1", body="OTHER")])
    assert (result.new, result.new_revision) == (1, 1)
    with engine.connect() as conn:
        assert store.get_cable(conn, "07MOSCOW1").current_revision == 2


def test_body_only_source_of_a_known_text_is_unchanged(engine):
    write(engine, [make_record("07MOSCOW1", body="THE BODY")])
    body_only = make_record("07MOSCOW1", body="THE BODY", header=None)
    assert write(engine, [body_only]).unchanged == 1
    assert write(engine, [make_record("07MOSCOW1", body="NEW", header=None)]).new_revision == 1


def test_metadata_columns_follow_the_current_revision(engine):
    write(engine, [make_record("07MOSCOW1", tags=["PGOV"], subject="OLD")])
    write(engine, [make_record("07MOSCOW1", body="NEW TEXT", tags=["PREL", "KDEM"],
                               subject="NEW")])
    with engine.connect() as conn:
        row = store.get_cable(conn, "07MOSCOW1")
        assert (row.subject, json.loads(row.tags), row.year) == ("NEW", ["PREL", "KDEM"], 2007)
        tags = conn.execute(select(cable_tags.c.tag).order_by(cable_tags.c.tag)).scalars().all()
        assert tags == ["KDEM", "PREL"]


def test_prepare_refuses_records_it_cannot_store():
    with pytest.raises(ValueError, match="no reference ID"):
        store.prepare(make_record(""))
    with pytest.raises(ValueError, match="no cable text"):
        store.prepare(make_record("07MOSCOW1", body=None, header=None))


# --------------------------------------------------------------------------- release times


def test_release_time_defaults(engine):
    write(engine, [make_record("07MOSCOW1", released="2010-12-06 12:12"),
                   make_record("07MOSCOW2", released=None)], now=T0)
    with engine.connect() as conn:
        assert store.get_cable(conn, "07MOSCOW1").release_at == datetime(2010, 12, 6, 12, 12)
        # No Released value: released at ingest time.
        assert store.get_cable(conn, "07MOSCOW2").release_at == T0
    # An earlier Released value seen later (same text) moves the release time earlier.
    write(engine, [make_record("07MOSCOW1", released="2010-11-28 18:00")])
    with engine.connect() as conn:
        row = store.get_cable(conn, "07MOSCOW1")
        assert (row.released, row.release_at) == ("2010-11-28 18:00", datetime(2010, 11, 28, 18))


def test_editor_release_time_survives_ingest(engine):
    write(engine, [make_record("07MOSCOW1")])
    later = T0 + timedelta(days=30)
    with db.writing(engine) as conn:
        assert store.set_release_at(conn, ["07MOSCOW1"], later, by="editor", now=T0) == 1
    write(engine, [make_record("07MOSCOW1", body="NEW", released="2009-01-01 00:00")])
    with engine.connect() as conn:
        row = store.get_cable(conn, "07MOSCOW1")
        assert (row.release_at, row.release_set_by) == (later, "editor")


# --------------------------------------------------------------------------- links


def test_links_resolve_when_the_target_arrives(engine):
    write(engine, [make_record("07MOSCOW1", references=["06PARIS3", "05ROME9", "06PARIS3"])])
    with engine.connect() as conn:
        view = store.cable_view(conn, "07MOSCOW1")
        assert view["unresolved_references"] == ["06PARIS3", "05ROME9"]
    write(engine, [make_record("06PARIS3")])
    with engine.connect() as conn:
        view = store.cable_view(conn, "07MOSCOW1")
        assert [c["in_archive"] for c in view["cites"]] == [True, False]
        assert view["unresolved_references"] == ["05ROME9"]
        assert [c["reference_id"] for c in store.cable_view(conn, "06PARIS3")["cited_by"]] == [
            "07MOSCOW1"
        ]
        kinds = conn.execute(
            select(changes.c.reference_id, changes.c.kind).order_by(changes.c.seq)
        ).all()
    # The citing cable's view changed when its target arrived: logged as "links".
    assert kinds[-2:] == [("06PARIS3", "text"), ("07MOSCOW1", "links")]


def test_a_new_revision_replaces_the_links(engine):
    write(engine, [make_record("07MOSCOW1", references=["06PARIS3"])])
    write(engine, [make_record("07MOSCOW1", body="NEW", references=["05ROME9"])])
    with engine.connect() as conn:
        assert conn.execute(select(links.c.target_id)).scalars().all() == ["05ROME9"]


# --------------------------------------------------------------------------- rejects, changes


def test_rejects_are_recorded_once_and_cleared_when_stored(engine):
    errors = [("/in/cables.csv", 7, "unterminated quote"), ("/in/bad.html", None, "no cable")]
    write(engine, [], errors)
    write(engine, [], errors[:1])
    with engine.connect() as conn:
        listed = store.list_rejects(conn)
    assert [(r["path"], r["row"]) for r in listed] == [("/in/bad.html", None),
                                                       ("/in/cables.csv", 7)]
    fixed = make_record("07MOSCOW1", source={"path": "/in/cables.csv", "row": 7,
                                             "format": "cables-csv"})
    write(engine, [fixed])
    with engine.connect() as conn:
        assert [r["input_key"] for r in store.list_rejects(conn)] == ["/in/bad.html"]


def test_change_log_is_written_with_the_change_and_only_then(engine):
    result = write(engine, [make_record("07MOSCOW1"), make_record("07MOSCOW2")])
    assert (result.seq_from, result.seq_to) == (0, 2)
    assert write(engine, [make_record("07MOSCOW1")]).seq_to == 2  # unchanged: no row
    with pytest.raises(RuntimeError), db.writing(engine) as conn:
        store.write_batch(conn, [store.prepare(make_record("07MOSCOW3"))], [], now=T0)
        raise RuntimeError("crash before commit")
    assert count(engine, changes) == 2
    assert count(engine, cables) == 2


def test_redactions_are_logged(engine):
    write(engine, [make_record("07MOSCOW1")])
    with db.writing(engine) as conn:
        rid = store.add_redaction(conn, "07MOSCOW1", "BODY", reason="source",
                                  created_by="ed", now=T0)
    with engine.connect() as conn:
        assert store.active_redactions(conn, ["07MOSCOW1"]) == {"07MOSCOW1": ["BODY"]}
    with db.writing(engine) as conn:
        assert store.lift_redaction(conn, rid, by="ed", now=T0)
        assert not store.lift_redaction(conn, rid, by="ed", now=T0)
    with engine.connect() as conn:
        assert store.active_redactions(conn, ["07MOSCOW1"]) == {}
        kinds = conn.execute(select(changes.c.kind).order_by(changes.c.seq)).scalars().all()
    assert kinds == ["text", "redaction", "redaction"]


def test_stats(engine):
    write(engine, [
        make_record("07MOSCOW1"),
        make_record("08PARIS2", created="2008-01-02 10:00", origin="Embassy Paris",
                    classification="SECRET"),
        make_record("08PARIS3", created="2008-03-02 10:00", origin="Embassy Paris",
                    classification="SECRET"),
    ])
    write(engine, [make_record("07MOSCOW1", body="NEW")])
    with engine.connect() as conn:
        counts = store.stats(conn)
    assert counts["cables"] == 3 and counts["revisions"] == 4
    assert counts["by_year"] == {"2007": 1, "2008": 2}
    assert counts["by_origin"] == {"Embassy Paris": 2, "Embassy Moscow": 1}
    assert counts["by_classification"] == {"SECRET": 2, "CONFIDENTIAL": 1}


def test_rejects_table_has_one_row_per_input(engine):
    write(engine, [], [("/a", None, "x"), ("/a", None, "y")])
    assert count(engine, rejects) == 1


# --------------------------------------------------------------------------- word diff


def test_word_diff_spells_both_texts():
    old, new = "THE MINISTER  SAID\nNO TO THE PLAN.", "THE XXXXXXXXXXXX SAID\nNO TO THE NEW PLAN."
    pieces = word_diff(old, new)
    assert "".join(t for op, t in pieces if op != INSERT) == old
    assert "".join(t for op, t in pieces if op != DELETE) == new
    assert (DELETE, "MINISTER  ") in pieces or (DELETE, "MINISTER") in pieces
    assert any(op == INSERT and "NEW" in t for op, t in pieces)
    assert "".join(tokens(old)) == old
    assert render_plain([(EQUAL, "A "), (DELETE, "B"), (INSERT, "C")]) == "A [-B-]{+C+}"
    assert word_diff("same", "same") == [(EQUAL, "same")]
