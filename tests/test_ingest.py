"""Ingest (streaming, idempotent, revisions, rejects, crash-safe) and the index
kept in step with it (indexer.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from _records import make_record, write
from sqlalchemy import func, select

from cablegate import db, indexer, store
from cablegate.ingest import ingest
from cablegate.public import PublicArchive
from cablegate.schema import cables, changes, revisions
from cablegate.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2011, 1, 1, 12, 0)


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def index(tmp_path):
    index = SearchIndex(tmp_path / "index")
    yield index
    index.close()


def hits(index, query: str, now=None) -> list[str]:
    return [h.reference_id for h in index.search(query, limit=100, now=now).results]


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- indexer


def test_sync_applies_changes_through_the_gate(engine, index):
    later = (NOW + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")
    write(engine, [make_record("07MOSCOW1", body="THE ZEBRA REPORT"),
                   make_record("08PARIS2", body="EMBARGOED OKAPI REPORT", released=later)])
    counts = indexer.sync_index(engine, index, now=NOW)
    assert counts["changes"] == 2 and index.last_seq == 2
    assert hits(index, "zebra", NOW) == ["07MOSCOW1"]
    # The embargoed text is not in the index at all, not merely filtered out.
    assert hits(index, "okapi", NOW + timedelta(days=30)) == []
    # Idempotent: nothing new, nothing done.
    assert indexer.sync_index(engine, index, now=NOW)["upserted"] == 0
    # Time passes its release time: the next sync indexes it (the watermark).
    indexer.sync_index(engine, index, now=NOW + timedelta(days=6))
    assert hits(index, "okapi", NOW + timedelta(days=6)) == ["08PARIS2"]


def test_redaction_and_new_revision_reach_the_index(engine, index):
    write(engine, [make_record("07MOSCOW1", body="WE MET GIRAFFE WELLINGTON TODAY")])
    indexer.sync_index(engine, index, now=NOW)
    assert hits(index, "wellington", NOW) == ["07MOSCOW1"]
    with db.writing(engine) as conn:
        store.add_redaction(conn, "07MOSCOW1", "Wellington", reason="source",
                            created_by="ed", now=NOW)
    assert indexer.sync_now(engine, index, now=NOW)["upserted"] == 1
    assert hits(index, "wellington", NOW) == []
    assert hits(index, "giraffe", NOW) == ["07MOSCOW1"]
    write(engine, [make_record("07MOSCOW1", body="A NEW TEXT ABOUT WELLINGTON AND LLAMAS")])
    indexer.sync_index(engine, index, now=NOW)
    assert hits(index, "llamas", NOW) == ["07MOSCOW1"] and hits(index, "giraffe", NOW) == []
    assert hits(index, "wellington", NOW) == []
    # Postponing the release removes it from the index.
    with db.writing(engine) as conn:
        store.set_release_at(conn, ["07MOSCOW1"], NOW + timedelta(days=1), by="ed", now=NOW)
    indexer.sync_index(engine, index, now=NOW)
    assert index.num_docs == 0


def test_public_search_syncs_when_due(engine, index):
    write(engine, [make_record("07MOSCOW1", body="AARDVARK"),
                   make_record("08PARIS2", body="AARDVARK TOO",
                               released=(NOW + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"))])
    assert PublicArchive(engine, index, now=NOW).search("aardvark").total == 1
    later = PublicArchive(engine, index, now=NOW + timedelta(hours=2))
    assert later.search("aardvark").total == 2


def test_rebuild_matches_the_public_archive(engine, tmp_path):
    write(engine, [make_record(f"07MOSCOW{i}", body=f"CABLE NUMBER {i} ABOUT WOMBATS")
                   for i in range(1, 8)])
    path = tmp_path / "rebuilt"
    counts = indexer.rebuild(engine, path, now=NOW)
    assert counts["documents"] == 7
    index = SearchIndex(path)
    try:
        assert index.last_seq == 7
        assert sorted(hits(index, "wombats", NOW)) == [f"07MOSCOW{i}" for i in range(1, 8)]
    finally:
        index.close()
    # Rebuilding again replaces, never duplicates.
    assert indexer.rebuild(engine, path, now=NOW)["documents"] == 7
    index = SearchIndex(path)
    assert index.num_docs == 7
    index.close()


# --------------------------------------------------------------------------- ingest (real parser)


def jsonl(tmp_path: Path, records: list[dict], name="records.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_ingest_counts_revisions_and_rejects(engine, index, tmp_path):
    first = jsonl(tmp_path, [make_record("07MOSCOW1", body="FIRST PANGOLIN TEXT"),
                             make_record("08PARIS2")], "a.jsonl")
    summary = ingest([first], engine, index=index)
    assert (summary.new, summary.new_revision, summary.unchanged, summary.rejected) == (2, 0, 0, 0)
    assert ingest([first], engine, index=index).unchanged == 2  # idempotent
    second = jsonl(tmp_path, [make_record("07MOSCOW1", body="SECOND PANGOLIN TEXT")], "b.jsonl")
    bad = tmp_path / "broken.jsonl"
    bad.write_text("{not json\n")
    summary = ingest([second, bad], engine, index=index)
    assert (summary.new_revision, summary.rejected) == (1, 1)
    assert count(engine, revisions) == 3
    with engine.connect() as conn:
        assert [r["path"] for r in store.list_rejects(conn)] == [str(bad)]
    assert hits(index, "second") == ["07MOSCOW1"] and hits(index, "first") == []
    assert index.last_seq == count(engine, changes)


def test_ingest_real_snapshots_makes_revisions(engine, index, corpus):
    """The 2010-12 and 2011-04 pages of 04RANGOON1100 differ in text: two revisions."""
    path = "cable/2004/08/04RANGOON1100.html"
    old = corpus / "cablegate_html/2010-12_chillicoder" / path
    new = corpus / "cablegate_html/2011-04_avilaroman" / path
    summary = ingest([old], engine, index=index)
    assert summary.new == 1
    assert ingest([new], engine, index=index).new_revision == 1
    assert ingest([old, new], engine, index=index).unchanged == 2
    with engine.connect() as conn:
        formats = [r["source_format"] for r in store.list_revisions(conn, "04RANGOON1100")]
    assert formats == ["cablegate-html-2010-12", "cablegate-html-2011-04"]
    pub = PublicArchive(engine, index)
    assert pub.diff("04RANGOON1100", 1, 2)


CHANGED_BETWEEN_SNAPSHOTS = set(
    "04RANGOON1100 05SOFIA1207 08KYIV2414 08LONDON1991 08OTTAWA918 08PARIS1698 08RANGOON749 "
    "08STATE93970 08USNATO453 09ABUJA259 09BAKU687 09BERLIN1162 09CAIRO746 09CAIRO874 "
    "09ISLAMABAD10 09LONDON2005 09LONDON2222 09PARIS1039 09SAOPAULO653 09STATE124636 "
    "09STATE15113 09STATE68250 09TRIPOLI1025 10ASTANA72 10ISLAMABAD428 10MADRID49 10ROME1 "
    "10TRIPOLI95".split()
)  # ../shared/corpus/SOURCES.md: the cables whose text differs between the snapshots


def test_two_real_snapshots_give_exactly_the_changed_cables_a_revision(engine, corpus):
    """2010-12 then 2011-04 pages: a second revision for exactly the 28 cables
    whose text changed; the other re-released pages are unchanged."""
    html = corpus / "cablegate_html"
    first = ingest([html / "2010-12_chillicoder"], engine)
    assert first.new == 334 and first.rejected == 0
    second = ingest([html / "2011-04_avilaroman"], engine)
    assert (second.new, second.new_revision, second.unchanged) == (1601 - 334, 28, 334 - 28)
    with engine.connect() as conn:
        revised = set(
            conn.execute(select(cables.c.reference_id).where(cables.c.revision_count == 2))
            .scalars()
        )
    assert revised == CHANGED_BETWEEN_SNAPSHOTS


def test_ingest_real_corpus_folder(engine, index, corpus):
    """Every input of a real folder ends stored, unchanged or rejected."""
    folder = corpus / "txt_reveal"
    files = sorted(folder.iterdir())
    summary = ingest([folder], engine, index=index)
    assert summary.total == len(files)
    assert summary.new + summary.rejected == len(files)
    assert count(engine, cables) == summary.new
    with engine.connect() as conn:
        assert len(store.list_rejects(conn)) == summary.rejected
    assert index.num_docs == summary.new


# --------------------------------------------------------------------------- crash safety


@pytest.fixture(scope="session")
def big_corpus(tmp_path_factory, corpus) -> tuple[Path, int]:
    """A cables.csv-format corpus of a few thousand cables (bench/make_corpus.py)."""
    n = 4000
    out = tmp_path_factory.mktemp("bigcorpus") / "cables.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_corpus.py"), str(n), str(out),
         "--max-templates", "300"],
        check=True, capture_output=True, timeout=600,
    )
    return out, n


def _ingest_cmd(csv: Path, url: str, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "cablegate", "ingest", str(csv), "--db", url,
            "--index", str(index_dir), "--batch", "200", "--quiet"]


def test_sigkill_mid_ingest_then_rerun(db_url, tmp_path, big_corpus):
    csv, n = big_corpus
    index_dir = tmp_path / "index"
    engine = db.get_engine(db_url)
    proc = subprocess.Popen(_ingest_cmd(csv, db_url, index_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stored = 0
    deadline = time.monotonic() + 300
    # Kill it once some batches are committed, well before the end.
    while time.monotonic() < deadline and proc.poll() is None:
        stored = count(engine, cables)
        if stored >= n // 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed: corpus too small"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < count(engine, cables) < n
    _assert_consistent(engine)

    done = subprocess.run(_ingest_cmd(csv, db_url, index_dir), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    assert count(engine, cables) == n  # nothing lost
    assert count(engine, revisions) == n  # no duplicates
    _assert_consistent(engine)
    index = SearchIndex(index_dir)
    try:
        assert index.num_docs == n
        assert index.last_seq == count(engine, changes)
        with engine.connect() as conn:
            some = conn.execute(select(cables.c.reference_id).limit(5)).scalars().all()
        for refid in some:
            assert hits(index, refid)[0] == refid
    finally:
        index.close()
    engine.dispose()


def _assert_consistent(engine) -> None:
    with engine.connect() as conn:
        # Every cable has its current revision, and revision numbers run 1..count.
        orphans = conn.execute(
            select(func.count()).select_from(cables).where(
                ~select(revisions.c.id).where(
                    revisions.c.reference_id == cables.c.reference_id,
                    revisions.c.revision == cables.c.current_revision,
                ).exists()
            )
        ).scalar_one()
        assert orphans == 0
        per_cable = conn.execute(
            select(revisions.c.reference_id, func.count(), func.max(revisions.c.revision))
            .group_by(revisions.c.reference_id)
        ).all()
        assert all(n == top for _, n, top in per_cable)
        assert len(per_cable) == conn.execute(select(func.count()).select_from(cables)).scalar()
        # Every stored text was logged for the index.
        logged = conn.execute(
            select(func.count(func.distinct(changes.c.reference_id))).where(
                changes.c.kind == "text"
            )
        ).scalar_one()
        assert logged == len(per_cable)


def test_parse_workers_share_the_inputs_exactly(corpus, tmp_path):
    """Each worker parses only its chunks and skips the rest unparsed; together
    they give exactly the batches of one reader: same inputs, order, rejects."""
    from itertools import zip_longest

    from cablegate.ingest import parse_batches

    bad_csv = tmp_path / "rows.csv"
    rows = (corpus / "cables_csv" / "cables_sample.csv").read_bytes()
    # good rows, a row with an unbalanced quote (rejected), good rows again
    bad_csv.write_bytes(rows + b'"9","12/1/2010","10X1","E","U","","H","unbalanced\n' + rows)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    paths = [str(corpus / "txt_alx"), str(bad_csv), str(empty), str(corpus / "pdf"),
             str(corpus / "txt_reveal"), str(corpus / "cablegate_html" / "2010-12_chillicoder")]

    def summary(batches):
        return [([(i.reference_id, i.content_hash, i.source_path, i.source_row)
                  for i in b.items], b.errors) for b in batches]

    alone = summary(parse_batches(paths, 7))
    shards = [summary(parse_batches(paths, 7, k, 3)) for k in range(3)]
    together = [b for group in zip_longest(*shards) for b in group if b is not None]
    assert sum(len(items) for items, _ in alone) > 50
    assert any(errors for _, errors in alone)
    assert together == alone
