"""`cablegate export` (JSON Lines, CSV) and `cablegate export-site` (static mirror at
the site's own URLs, incremental), through the real CLI on a real SQLite archive."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cablegate.record import FIELDS

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "cablegate", *args], capture_output=True,
                            text=True, env=env, cwd=str(ROOT), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture()
def demo_db(tmp_path):
    from cablegate.db import get_engine
    from cablegate.demo import build_demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo(get_engine(url), None, count=80, seed=11)
    return url


def public(url: str):
    from cablegate.db import get_engine
    from cablegate.public import PublicArchive

    return PublicArchive(get_engine(url), None)


def test_export_jsonl_is_every_public_record(demo_db):
    archive = public(demo_db)
    out = run_cli("export", "--db", demo_db, "--format", "jsonl").stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == archive.released_count() < archive.total_count()
    assert list(records[0]) == list(FIELDS)
    expected = {r["reference_id"]: r for r in archive.iter_records()}
    assert {r["reference_id"]: r for r in records} == expected


def test_export_csv_has_a_header_and_a_row_per_cable(demo_db, tmp_path):
    archive = public(demo_db)
    target = tmp_path / "cables.csv"
    run_cli("export", "--db", demo_db, "--format", "csv", "-o", str(target))
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == list(FIELDS)
    assert len(rows) - 1 == archive.released_count()
    by_id = {r["reference_id"]: r for r in archive.iter_records()}
    first = dict(zip(rows[0], rows[1], strict=True))
    record = by_id[first["reference_id"]]
    assert first["body"] == record["body"]
    assert first["tags"] == "|".join(record["tags"])
    assert json.loads(first["paragraphs"]) == record["paragraphs"]


def mirror_files(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".cablegate")}


def test_export_site_writes_the_site_at_its_urls_incrementally(demo_db, tmp_path):
    from cablegate.db import get_engine, utcnow
    from cablegate.schema import cables
    from cablegate.store import set_release_at

    archive = public(demo_db)
    mirror = tmp_path / "mirror"
    run_cli("export-site", str(mirror), "--db", demo_db, "--workers", "1")
    files = mirror_files(mirror)
    records = list(archive.iter_records())
    for record in records:
        from cablegate.web.url_builder import cable_path

        html = mirror / cable_path(record["reference_id"], record["created"]).lstrip("/")
        assert html.is_file()
        assert json.loads(html.with_suffix(".json").read_text())["body"] == record["body"]
    for path in ("index.html", "index.json", "feed.atom", "reasons.html", "static/cables.css",
                 "tag/index.html", "origin/index.json", "404.html"):
        assert (mirror / path).is_file(), path
    tags = archive.facet_counts("tag")
    assert (mirror / f"tag/{tags[0][0]}_0.html").is_file()
    assert (mirror / f"tag/{tags[0][0]}.atom").is_file()
    # Embargoed cables are nowhere in the mirror.
    with get_engine(demo_db).connect() as conn:
        from sqlalchemy import select

        hidden = list(conn.execute(select(cables.c.reference_id)
                                   .where(cables.c.release_at > utcnow())).scalars())
    assert hidden
    # No page of theirs, no link to one, no listing of them; other cables' REF lines
    # may still name them (as "not in the archive").
    assert not [name for name in files if any(refid in name for refid in hidden)]
    listings = "\n".join(p.read_text() for p in mirror.rglob("*.*")
                          if p.suffix in (".html", ".json", ".atom") and "cable/" not in str(p))
    assert not any(refid in listings for refid in hidden)
    pages = "\n".join(p.read_text() for p in mirror.rglob("cable/**/*.html"))
    assert not any(f"{refid}.html" in pages for refid in hidden)

    # A second run with nothing changed rewrites nothing.
    second = run_cli("export-site", str(mirror), "--db", demo_db, "--workers", "1")
    assert " 0 written" in second.stderr
    assert mirror_files(mirror) == files

    # Withdraw one cable: its two files go, pages listing it are rewritten, others stay.
    victim = records[len(records) // 2]
    engine = get_engine(demo_db)
    with engine.begin() as conn:
        set_release_at(conn, [victim["reference_id"]], utcnow() + timedelta(days=30), by="test",
                       now=utcnow())
    third = run_cli("export-site", str(mirror), "--db", demo_db, "--workers", "1")
    after = mirror_files(mirror)
    from cablegate.web.url_builder import cable_path

    gone = cable_path(victim["reference_id"], victim["created"]).lstrip("/")
    assert gone not in after and gone.replace(".html", ".json") not in after
    removed = set(files) - set(after)
    assert f"{len(removed)} removed" in third.stderr
    # Besides its own two files, only pages of values that listed nothing else went.
    for name in removed - {gone, gone.replace(".html", ".json")}:
        assert name.split("/")[0] in ("reldate", "date", "origin", "tag", "classification")
    rewritten = {p for p in after if p in files and after[p] != files[p]}
    assert "index.html" in rewritten  # the home page lists counts and latest releases
    unchanged_cables = [p for p in after if p.startswith("cable/") and p not in rewritten]
    assert len(unchanged_cables) >= 2 * (len(records) - 1) - 10  # nearly every cable untouched


def test_export_site_with_worker_processes_matches_one_process(demo_db, tmp_path):
    from cablegate.export import export_site

    one, two = tmp_path / "one", tmp_path / "two"
    export_site(one, db_url=demo_db, workers=1)
    stats = export_site(two, db_url=demo_db, workers=2, chunk=10)
    assert stats["written"] == stats["files"]
    names = sorted(mirror_files(one))
    assert names == sorted(mirror_files(two))
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def _words(text: str | None) -> list[str]:
    return [w.strip(".,;:()'\"").upper() for w in (text or "").split()]


def _own_words(archive) -> dict[str, list[str]]:
    """refid -> words of its body in no other public cable's text (demo texts are
    generated from templates: few cables have one)."""
    words = {r["reference_id"]: r for r in archive.iter_records()}
    seen: dict[str, set[str]] = {}
    for refid, r in words.items():
        for w in set(_words(r["body"]) + _words(r["subject"])):
            seen.setdefault(w, set()).add(refid)
    return {refid: [w for w in _words(r["body"])
                    if len(w) > 3 and w.isalpha() and seen[w] == {refid}]
            for refid, r in words.items()}


def _gate_cases(url: str) -> dict[str, str]:
    """Make the demo archive show every part of the gate on a cable page: a redacted
    body word and subject word, a lifted redaction (new revision, older one still
    redacted), approved comment and trackback, a cable citing an embargoed one."""
    from sqlalchemy import select

    from cablegate import discussion as disc
    from cablegate import publishing
    from cablegate.db import get_engine, utcnow
    from cablegate.schema import cables, links
    from cablegate.store import set_release_at

    engine = get_engine(url)
    archive = public(url)
    now = utcnow()
    with engine.connect() as conn:
        public_ids = set(conn.execute(select(cables.c.reference_id)
                                      .where(cables.c.release_at <= now)).scalars())
        revised = sorted(conn.execute(select(cables.c.reference_id).where(
            cables.c.revision_count > 1, cables.c.release_at <= now)).scalars())
        pairs = conn.execute(select(links.c.source_id, links.c.target_id)
                             .order_by(links.c.source_id, links.c.position)).all()
    own = _own_words(archive)
    cited = [(s, t) for s, t in pairs if s in public_ids and t in public_ids]
    cited.sort(key=lambda pair: not own[pair[1]])  # targets with a word of their own first
    assert revised and len(cited) >= 2 and own[cited[0][1]]
    citing, target = cited[0]  # citing's subject gets a redaction: target's "cited by" shows it
    record = archive.get_cable(citing)
    # A span applies to every text field: a subject word also in the body redacts both.
    word = next(w for w in record["subject"].split()
                if len(w) > 3 and w.isalpha() and w.upper() in record["body"].upper())
    publishing.add_redaction(engine, citing, reason="test", by="ed", text=word)
    body_word = own[target][0]
    publishing.add_redaction(engine, target, reason="test", by="ed", text=body_word)
    posted = disc.submit_comment(engine, archive, target, disc.CommentInput(
        "Reader", "r@example.org", None, f"See #par1, not {body_word}."), "client-1")
    disc.moderate(engine, "comment", [posted.id], "approve", by="ed")
    ping = disc.submit_trackback(engine, archive, target, disc.TrackbackInput(
        "https://blog.example.org/post", "A post", f"About {body_word}", "Blog"), "client-2")
    disc.moderate(engine, "trackback", [ping.id], "approve", by="ed")
    lifted = cited[1][0] if cited[1][0] not in (citing, target) else revised[-1]
    lift_word = next(w for w in archive.get_cable(lifted)["body"].split()
                     if len(w) > 6 and w.isalpha())
    rid, _ = publishing.add_redaction(engine, lifted, reason="test", by="ed", text=lift_word)
    publishing.unredact(engine, lifted, [rid], by="ed")
    embargoed_source, embargoed = cited[-1]
    with engine.begin() as conn:
        set_release_at(conn, [embargoed], now + timedelta(days=30), by="ed", now=now)
    return {"redacted": target, "subject_redacted": citing, "revised": revised[0],
            "lifted": lifted, "cites_embargoed": embargoed_source, "embargoed": embargoed,
            "body_word": body_word}


def test_batched_mirror_pages_equal_single_cable_renders(demo_db, tmp_path):
    from cablegate.export import export_site
    from cablegate.web.site import Site
    from cablegate.web.url_builder import cable_path

    cases = _gate_cases(demo_db)
    archive = public(demo_db)
    refids = sorted(r["reference_id"] for r in archive.iter_records())
    assert cases["embargoed"] not in refids
    # The batched gate read is the single one, for every cable, across chunk borders.
    views = archive.cable_views([*refids, cases["embargoed"], "99NOWHERE1"], chunk=7)
    assert views[cases["embargoed"]] is None and views["99NOWHERE1"] is None
    for refid in refids:
        assert views[refid] == archive.cable_view(refid), refid
    record = views[cases["redacted"]]["record"]
    assert cases["body_word"] not in record["body"] and "XXXXXXXXXXXX" in record["body"]
    assert any("XXXXXXXXXXXX" in (c["subject"] or "") for c in record["cited_by"])
    assert views[cases["redacted"]]["discussion"]["comments"]
    assert len(views[cases["lifted"]]["revisions"]) >= 2
    assert cases["embargoed"] in views[cases["cites_embargoed"]]["record"][
        "unresolved_references"]

    # A comment still in the moderation queue: in no page or feed of the mirror.
    from cablegate import discussion as disc
    from cablegate.db import get_engine

    disc.submit_comment(get_engine(demo_db), archive, cases["redacted"], disc.CommentInput(
        "Newcomer", "n@example.org", None, "Pendingmarkerword here."), "client-3")

    # The mirror's cable pages (batched, 2 processes) are the live site's single renders.
    mirror = tmp_path / "mirror"
    export_site(mirror, db_url=demo_db, workers=2, chunk=9)
    site = Site(archive, static=True)
    for name in ("redacted", "subject_redacted", "revised", "lifted", "cites_embargoed"):
        page = site.cable_page(cases[name])
        path = mirror / cable_path(cases[name], page.data["created"]).lstrip("/")
        assert path.read_text() == page.html, name
        twin = json.loads(path.with_suffix(".json").read_text())
        assert twin == json.loads(json.dumps(page.data)), name
        # Written by orjson (jsoncodec), byte for byte what json.dumps writes.
        assert path.with_suffix(".json").read_bytes() == _live_json(page.data), name
        if name == "redacted":
            assert cases["body_word"] not in page.html + path.with_suffix(".json").read_text()
    # Browse pages (rows built for the mirror's templates) are the live site's too.
    from cablegate.web.url_builder import browse_path, slugify

    for kind in ("tag", "origin", "date", "classification"):
        value = archive.facet_counts(kind)[0][0]
        page = site.browse_page(kind, slugify(value), 0)
        assert (mirror / browse_path(kind, value).lstrip("/")).read_text() == page.html, kind
        twin = (mirror / browse_path(kind, value, 0, "json").lstrip("/")).read_text()
        assert json.loads(twin) == json.loads(json.dumps(page.data)), kind
        assert twin.encode() == _live_json(page.data), kind
    assert (mirror / "index.html").read_text() == site.home_page().html
    pages = "\n".join(p.read_text() for p in mirror.rglob("*.*") if p.suffix != ".svg")
    assert f"{cases['embargoed']}.html" not in pages
    assert "Pendingmarkerword" not in pages
    # Comment feeds: the commented cable's (linked from its mirror page) and the site's.
    from cablegate.web.discuss import comments_feed_path

    feed_path = comments_feed_path(cases["redacted"])
    feed = (mirror / feed_path.lstrip("/")).read_text()
    page = site.cable_page(cases["redacted"])
    assert f'href="{feed_path}"' in page.html
    assert page.data["discussion"]["comments_feed"] == feed_path
    assert feed == disc.comments_feed(
        archive.discussion(cases["redacted"])["comments"],
        title=f"Cable Viewer: comments on {cases['redacted']}", self_path=feed_path,
        page_path=page.path + "#comments", base_url="")
    assert ", not XXXXXXXXXXXX." in feed and cases["body_word"] not in feed
    site_feed = (mirror / "comments.atom").read_text()
    assert ", not XXXXXXXXXXXX." in site_feed and cases["body_word"] not in site_feed
    # Cables without comments get no feed file and no link.
    quiet = site.cable_page(cases["revised"])
    assert "comments_feed" not in quiet.data["discussion"]
    assert not (mirror / comments_feed_path(cases["revised"]).lstrip("/")).exists()


def _live_json(data) -> bytes:
    """A JSON twin as json.dumps writes it (what jsoncodec.compact_bytes must give)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("text", ["", "plain", "a & b < c > d 'e' \"f\"", "&amp; &#39;", "é\n\t<x>"])
def test_cable_text_escaping_is_markupsafes(text):
    from markupsafe import escape

    from cablegate.web.cabletext import escape_text

    assert escape_text(text) == str(escape(text))
