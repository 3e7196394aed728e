"""Staged releases and redactions (publishing.py, `cablegate release`, the admin
pages), on SQLite and PostgreSQL: what the gate, the search index and the
revision list show after each editorial change."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from _pubsite import csrf_token
from _records import make_record, write
from click.testing import CliRunner
from sqlalchemy import select

from cablegate import db, publishing, store
from cablegate.cli import cli
from cablegate.indexer import open_index, sync_index
from cablegate.public import REDACTED, PublicArchive
from cablegate.schema import audit_log, cables, changes

NOW = datetime(2026, 3, 1, 12, 0)
BODY = ("1. (C) AMBASSADOR MET COLONEL\nZARKOVIAN AT THE MINISTRY.\n"
        "2. (S) ZARKOVIAN SAID THE CONVOY LEAVES TUESDAY.\n3. (U) END.")


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    write(engine, [
        make_record("07MOSCOW1", body=BODY, subject="TALK WITH COLONEL ZARKOVIAN",
                    released="2010-12-06 12:12"),
        make_record("08PARIS2", body="1. (C) NOTHING ABOUT QUILLMORE HERE.", origin="Embassy Paris",
                    released="2010-12-07 10:00"),
        make_record("09ROME3", body="1. (S) EMBARGOED QUILLMORE TEXT.", origin="Embassy Rome",
                    released=(NOW + timedelta(days=10)).strftime("%Y-%m-%d %H:%M")),
    ], now=NOW - timedelta(days=1))
    yield engine
    engine.dispose()


def public(engine, now=NOW) -> PublicArchive:
    return PublicArchive(engine, None, now=now)


def kinds_logged(engine, refid):
    with engine.connect() as conn:
        return [r.kind for r in conn.execute(
            select(changes.c.kind).where(changes.c.reference_id == refid).order_by(changes.c.seq))]


# --------------------------------------------------------------------------- release times


def test_release_time_parsing():
    assert publishing.parse_release_time("2010-12-06 12:30") == datetime(2010, 12, 6, 12, 30)
    assert publishing.parse_release_time("2010-12-06T14:30+02:00") == datetime(2010, 12, 6, 12, 30)
    for bad in ("", "tomorrow", "2010-13-01 00:00"):
        with pytest.raises(publishing.PublishingError):
            publishing.parse_release_time(bad)


def test_release_by_ids_with_preview(engine):
    at = NOW - timedelta(hours=1)
    plan = publishing.plan_release(engine, at, refids=["09ROME3", "07MOSCOW1"], now=NOW)
    assert plan.refids == ["09ROME3", "07MOSCOW1"] and plan.missing == []
    assert plan.counts(NOW) == {"cables": 2, "become_public": 1, "withdrawn": 0,
                                "stay_public": 1, "stay_embargoed": 0}
    assert public(engine).get_cable("09ROME3") is None  # a preview changes nothing
    assert publishing.apply_release(engine, plan, by="ed", now=NOW) == 2
    rome = public(engine).get_cable("09ROME3")
    assert rome is not None and rome["released"] == at.strftime("%Y-%m-%d %H:%M")
    assert kinds_logged(engine, "09ROME3")[-1] == "release"
    with engine.connect() as conn:
        assert store.get_cable(conn, "09ROME3").release_set_by == "ed"
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert actions.count("release.schedule") == 2 and "release.batch" in actions
    # Withdrawing: a future time makes a public cable disappear again.
    later = publishing.plan_release(engine, NOW + timedelta(days=1), refids=["08PARIS2"], now=NOW)
    assert later.counts(NOW)["withdrawn"] == 1
    publishing.apply_release(engine, later, by="ed", now=NOW)
    assert public(engine).get_cable("08PARIS2") is None


def test_unknown_ids_change_nothing(engine):
    plan = publishing.plan_release(engine, NOW, refids=["09ROME3", "99NOWHERE1"], now=NOW)
    assert plan.missing == ["99NOWHERE1"]
    with pytest.raises(publishing.PublishingError, match="99NOWHERE1"):
        publishing.apply_release(engine, plan, by="ed", now=NOW)
    assert public(engine).get_cable("09ROME3") is None
    with pytest.raises(publishing.PublishingError):
        publishing.plan_release(engine, NOW, now=NOW)  # neither IDs nor a query


def test_release_by_query_sees_unreleased_originals(engine):
    # The public index cannot find an embargoed cable; the editors' query can.
    assert publishing.query_refids(engine, "quillmore") == ["08PARIS2", "09ROME3"]
    assert publishing.query_refids(engine, 'quillmore origin:"Embassy Rome"') == ["09ROME3"]
    plan = publishing.plan_release(engine, NOW, query="quillmore", unreleased_only=True, now=NOW)
    assert plan.refids == ["09ROME3"]
    from cablegate.query import QuerySyntaxError

    with pytest.raises(QuerySyntaxError):
        publishing.query_refids(engine, '"unclosed')


def test_cli_release(engine, db_url):
    # The CLI runs on the real clock: embargo the cable relative to it.
    with db.writing(engine) as conn:
        conn.execute(cables.update().where(cables.c.reference_id == "09ROME3")
                     .values(release_at=datetime(2099, 1, 1)))
    runner = CliRunner()
    dry = runner.invoke(cli, ["release", "--at", "2026-03-01 11:00", "--query", "quillmore",
                              "--unreleased", "--dry-run", "--db", db_url])
    assert dry.exit_code == 0, dry.output
    assert "1 cable(s)" in dry.output and "1 become public" in dry.output
    assert "09ROME3" in dry.output and "nothing changed" in dry.output
    missing = runner.invoke(cli, ["release", "--at", "2026-03-01 11:00", "09ROME3",
                                  "99NOWHERE1", "--db", db_url])
    assert missing.exit_code == 1 and "99NOWHERE1" in missing.output
    with engine.connect() as conn:
        assert store.get_cable(conn, "09ROME3").release_set_by is None
    done = runner.invoke(cli, ["release", "--at", "2030-01-01 00:00", "09ROME3", "--by", "cli-ed",
                               "--db", db_url])
    assert done.exit_code == 0 and "scheduled 1 cable(s) for 2030-01-01 00:00" in done.output
    with engine.connect() as conn:
        row = store.get_cable(conn, "09ROME3")
    assert row.release_at == datetime(2030, 1, 1) and row.release_set_by == "cli-ed"
    usage = runner.invoke(cli, ["release", "--at", "2030-01-01 00:00", "--db", db_url])
    assert usage.exit_code == 2


# --------------------------------------------------------------------------- redactions


def test_spans_by_offsets_or_text_grow_to_whole_words():
    record = {"body": BODY, "header": "FM AMEMBASSY MOSCOW"}
    start = BODY.index("ZARKOVIAN") + 2
    span = publishing.locate_span(record, start=start, end=start + 3)  # "RKO"
    assert span.text == "ZARKOVIAN" and BODY[span.start:span.end] == "ZARKOVIAN"
    second = publishing.locate_span(record, text="zarkovian", occurrence=2)
    assert second.start == BODY.index("ZARKOVIAN SAID")
    across = publishing.locate_span(record, text="colonel zarkovian")
    assert across.text == "COLONEL\nZARKOVIAN"
    assert publishing.locate_span(record, field="header", text="moscow").text == "MOSCOW"
    for kwargs in ({"text": "nowhere"}, {"text": "zarkovian", "occurrence": 3},
                   {"start": 5, "end": 500}, {"field": "subject", "text": "talk"}, {}):
        with pytest.raises(publishing.PublishingError):
            publishing.locate_span(record, **kwargs)


def test_redaction_reaches_every_public_surface_and_keeps_lines(engine, tmp_path):
    index = open_index(tmp_path / "index")
    sync_index(engine, index, now=NOW)
    assert index.search("zarkovian", now=NOW).total == 1
    rid, span = publishing.add_redaction(engine, "07MOSCOW1", text="Colonel Zarkovian",
                                         reason="protects a source", by="ed", now=NOW)
    assert span.text == "COLONEL\nZARKOVIAN"
    publishing.add_redaction(engine, "07MOSCOW1", text="zarkovian", occurrence=2,
                             reason="same person", by="ed", now=NOW)
    cable = public(engine).get_cable("07MOSCOW1")
    assert "ZARKOVIAN" not in repr(cable).upper()
    # One fixed-width run per line the span covered: the line structure is kept.
    assert cable["body"] == (f"1. (C) AMBASSADOR MET {REDACTED}\n{REDACTED} AT THE MINISTRY.\n"
                             f"2. (S) {REDACTED} SAID THE CONVOY LEAVES TUESDAY.\n3. (U) END.")
    assert cable["body"].count("\n") == BODY.count("\n")
    assert cable["subject"] == f"TALK WITH {REDACTED}"
    sync_index(engine, index, now=NOW)
    assert index.search("zarkovian", now=NOW).total == 0
    assert "ZARKOVIAN" not in repr(index.search("convoy", now=NOW).results).upper()
    assert kinds_logged(engine, "07MOSCOW1")[-2:] == ["redaction", "redaction"]
    # Editors still see the original, with the spans marked.
    view = publishing.editor_view(engine, "07MOSCOW1", now=NOW)
    assert "ZARKOVIAN" in view["body"] and [r["id"] for r in view["redactions"]][0] == rid
    assert ("COLONEL\nZARKOVIAN", True) in view["marked_body"]
    index.close()


def test_cli_redact_and_unredact(engine, db_url, tmp_path):
    # The CLI runs on the real clock, after NOW: 07MOSCOW1 is public.
    index_dir = str(tmp_path / "index")
    index = open_index(index_dir)
    sync_index(engine, index)
    index.close()
    runner = CliRunner()
    where = ["--db", db_url, "--index", index_dir]
    done = runner.invoke(cli, ["redact", "07MOSCOW1", "--text", "zarkovian", "--occurrence", "2",
                               "--reason", "protects a source", "--by", "cli-ed", *where])
    assert done.exit_code == 0, done.output
    assert "'ZARKOVIAN'" in done.output and "3 occurrence(s) redacted" in done.output
    assert "search index" in done.output and "updated" in done.output
    # Applied to the index before the command returned: no search finds the word.
    index = open_index(index_dir)
    assert index.search("zarkovian").total == 0
    assert "ZARKOVIAN" not in repr(index.search("convoy").results).upper()
    index.close()
    assert "ZARKOVIAN" not in repr(public(engine, now=None).get_cable("07MOSCOW1")).upper()
    listed = runner.invoke(cli, ["redact", "07MOSCOW1", "--list", *where])
    assert listed.exit_code == 0 and "active\tcli-ed body" in listed.output
    assert "protects a source" in listed.output
    # Bad requests change nothing and say why.
    for args, code, message in [
        (["--text", "nowhere", "--reason", "x"], 1, "does not occur"),
        (["--text", "zarkovian"], 2, "--reason"),
        (["--reason", "x"], 2, "--text"),
    ]:
        bad = runner.invoke(cli, ["redact", "07MOSCOW1", *args, *where])
        assert bad.exit_code == code and message in bad.output, bad.output
    assert runner.invoke(cli, ["redact", "99NOWHERE1", "--text", "x", "--reason", "x",
                               *where]).exit_code == 1
    lifted = runner.invoke(cli, ["unredact", "07MOSCOW1", "--by", "cli-ed", *where])
    assert lifted.exit_code == 0 and "revision 2 published" in lifted.output, lifted.output
    index = open_index(index_dir)
    assert index.search("zarkovian").total == 1
    index.close()
    assert runner.invoke(cli, ["unredact", "07MOSCOW1", *where]).exit_code == 1
    assert kinds_logged(engine, "07MOSCOW1")[-3:] == ["redaction", "redaction", "text"]


def test_unredaction_publishes_a_new_revision(engine, tmp_path):
    rid, _ = publishing.add_redaction(engine, "07MOSCOW1", text="zarkovian", reason="source",
                                      by="ed", now=NOW)
    pub = public(engine, NOW + timedelta(hours=2))
    assert [r["revision"] for r in pub.get_cable("07MOSCOW1")["revisions"]] == [1]
    done = publishing.unredact(engine, "07MOSCOW1", [rid], by="ed", now=NOW + timedelta(hours=1))
    assert done.lifted == [rid] and done.revision == 2
    cable = pub.get_cable("07MOSCOW1")
    assert "ZARKOVIAN" in cable["body"] and cable["revision"] == 2
    assert [(r["revision"], r["source_format"]) for r in cable["revisions"]] == [
        (1, "text"), (2, "unredaction")]
    # Revision 1 stays as it was published; the diff shows what the unredaction revealed.
    assert "ZARKOVIAN" not in pub.get_revision("07MOSCOW1", 1)["body"]
    revealed = [text for op, text in pub.diff("07MOSCOW1", 1, 2) if op == "insert"]
    assert any("ZARKOVIAN" in t for t in revealed)
    assert kinds_logged(engine, "07MOSCOW1")[-2:] == ["redaction", "text"]
    # Ingesting the original text again adds no revision.
    again = write(engine, [make_record("07MOSCOW1", body=BODY,
                                       subject="TALK WITH COLONEL ZARKOVIAN")])
    assert again.unchanged == 1 and again.new_revision == 0
    index = open_index(tmp_path / "index")
    sync_index(engine, index, now=NOW + timedelta(hours=2))
    assert index.search("zarkovian", now=NOW + timedelta(hours=2)).total == 1
    index.close()
    with pytest.raises(publishing.PublishingError):
        publishing.unredact(engine, "07MOSCOW1", [rid], by="ed")


def test_unredacting_an_embargoed_cable_adds_no_revision(engine):
    rid, _ = publishing.add_redaction(engine, "09ROME3", text="quillmore", reason="x", by="ed",
                                      now=NOW)
    done = publishing.unredact(engine, "09ROME3", by="ed", now=NOW)
    assert done.lifted == [rid] and done.revision is None
    with engine.connect() as conn:
        assert store.get_cable(conn, "09ROME3").revision_count == 1


def test_occurrence_counts_warn_about_partial_words():
    record = {"subject": "ALI", "body": "ALI MET ALIBABA. ali again."}
    assert publishing.occurrences(record, "ali") == {"total": 4, "inside_words": 1}


# --------------------------------------------------------------------------- the admin pages


def test_admin_release_preview_then_apply(pub_site):
    engine = pub_site.engine()
    refid = pub_site.archive.embargoed[0]
    assert pub_site.client().get(f"/cable/{refid}").status_code == 404
    editor = pub_site.login()
    form = editor.get("/admin/release")
    preview = editor.post("/admin/release/preview", data={
        "at": "2001-01-01 00:00", "refids": f"{refid}\n", "query": "",
        "csrf_token": csrf_token(form.text)})
    assert preview.status_code == 200
    assert "Become public" in preview.text and refid in preview.text
    assert pub_site.client().get(f"/cable/{refid}").status_code == 404  # not yet
    applied = editor.post("/admin/release", data={
        "at": "2001-01-01 00:00", "refids": refid, "query": "",
        "csrf_token": csrf_token(preview.text)})
    assert applied.status_code == 200 and "1 cable(s) now have the release time" in applied.text
    page = pub_site.client().get(f"/cable/{refid}", follow_redirects=True)
    assert page.status_code == 200 and refid in page.text
    found = pub_site.client().get("/search.json", params={"q": refid}).json()
    assert found["results"] and found["results"][0]["reference_id"] == refid
    # Back under embargo (so other tests keep their embargoed cables).
    with engine.connect() as conn:
        original = store.get_cable(conn, refid)
    publishing.apply_release(
        engine, publishing.plan_release(engine, datetime(2099, 1, 1), refids=[refid]), by="t")
    assert original.release_set_by == editor_name()
    engine.dispose()


def editor_name() -> str:
    from _pubsite import EDITOR

    return EDITOR[0]


def test_admin_redact_and_unredact_a_cable(pub_site):
    refid = "08KYIV2414"
    editor = pub_site.login()
    view = editor.get(f"/admin/cable/{refid}")
    assert view.status_code == 200 and "Original text (editors only)" in view.text
    redacted = editor.post(f"/admin/cable/{refid}/redactions", data={
        "text": "Firtash", "occurrence": "1", "field": "body", "reason": "test of the form",
        "csrf_token": csrf_token(view.text)})
    assert redacted.status_code == 200 and "now replaced in" in redacted.text
    anonymous = pub_site.client()
    page = anonymous.get(f"/cable/{refid}", follow_redirects=True)
    assert "firtash" not in page.text.lower() and REDACTED in page.text
    def found(word: str) -> list[str]:
        hits = anonymous.get("/search.json", params={"q": word}).json()["results"]
        return [hit["reference_id"] for hit in hits]

    assert refid not in found("firtash")
    engine = pub_site.engine()
    with engine.connect() as conn:
        rid = publishing.list_redactions(conn, refid)[-1]["id"]
    lifted = editor.post(f"/admin/cable/{refid}/redactions/{rid}/lift",
                         data={"csrf_token": csrf_token(redacted.text)})
    assert lifted.status_code == 200 and "published as revision" in lifted.text
    record = anonymous.get(f"/cable/{refid}.json", follow_redirects=True).json()
    assert "Firtash".upper() in record["body"].upper()
    assert record["revisions"][-1]["source_format"] == "unredaction"
    assert refid in found("firtash")
    bad = editor.post(f"/admin/cable/{refid}/redactions", data={
        "text": "no such words here at all", "reason": "x",
        "csrf_token": csrf_token(lifted.text)})
    assert bad.status_code == 400 and "does not occur" in bad.text
    engine.dispose()


# --------------------------------------------------------------------------- valid HTML


def test_publishing_pages_are_valid_html5(pub_site, tmp_path):
    """Login, comment, moderation and editors' pages pass the Nu Html Checker too."""
    import json
    import shutil
    import subprocess

    from test_web_html import vnu_jar

    java = shutil.which("java")
    if java is None:
        pytest.fail("java is needed for the HTML5 validator (scripts/test installs it)")
    reader = pub_site.client()
    page = reader.get("/cable/08KYIV2414", follow_redirects=True)
    invalid = reader.post("/cable/08KYIV2414/comments", data={
        "name": "", "email": "x", "comment": "<b>hi</b>", "csrf_token": csrf_token(page.text)})
    admin = pub_site.login(("admin1", "correct horse admin!"))
    pages = {
        "login": reader.get("/login").text, "comment-errors": invalid.text,
        "pending": reader.get("/cable/08KYIV2414/pending").text,
        "forbidden": reader.post("/logout", data={}).text,
        "logout": admin.get("/logout").text,
    }
    for path in ("/admin", "/admin/cables?q=kyiv", "/admin/cable/08KYIV2414", "/admin/release",
                 "/admin/discussion?kind=comment&status=approved", "/admin/users",
                 "/admin/audit"):
        response = admin.get(path)
        assert response.status_code == 200, path
        pages[path.strip("/").replace("/", "-").split("?")[0]] = response.text
    preview = admin.post("/admin/release/preview", data={
        "at": "2099-01-01 00:00", "refids": "08KYIV2414", "query": "",
        "csrf_token": csrf_token(pages["admin-release"])})
    pages["release-preview"] = preview.text
    for name, html in pages.items():
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
    result = subprocess.run(
        [java, "-jar", str(vnu_jar()), "--format", "json", "--skip-non-html", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    problems = [(m.get("url", "").rsplit("/", 1)[-1], m.get("lastLine"), m["message"])
                for m in messages if m["type"] in ("error", "non-document-error")]
    assert problems == [], problems[:10]
