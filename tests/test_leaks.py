"""Proof that nothing leaks (issue 5).

An archive of real cables (a copy of the site tests' archive: corpus cables plus
demo cables) gets two more real cables from ../shared/corpus, modified as test
input (never in ../shared) and ingested:

* E, embargoed (its Released value set a month ahead), with the marker word
  MARK_E in its subject and first paragraph, and an approved comment and
  trackback naming MARK_E (posted while a later clock made it public);
* R, public, which cites E, with MARK_R in its subject and first paragraph;
  an editor redacts MARK_R through the admin pages, and a reader's approved
  comment and trackback repeat MARK_R.

Then, over real HTTP (``cablegate serve`` on a loopback port), every GET route
of the app (enumerated from its router, with path parameters filled from the
archive: HTML and JSON twins, browse indexes, search with facets and
histogram, feeds, comment feeds, API docs) plus ``cablegate export`` (jsonl
and csv) and ``cablegate export-site`` must not contain either marker; E's
URLs must answer exactly like an unknown reference ID's. After the editor
releases E it appears everywhere expected; after unredacting, MARK_R appears
in R's public text and its revision list shows the new revision.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from _pubsite import (
    PubSite,
    add_users,
    app_routes,
    copy_archive,
    csrf_token,
    start_site,
)
from sqlalchemy import func, select

from cablegate import discussion as disc
from cablegate.db import get_engine, utcnow
from cablegate.public import REDACTED, PublicArchive
from cablegate.schema import cable_tags, cables, comments, links, trackbacks
from cablegate.web import url_builder as urls

ROOT = Path(__file__).resolve().parent.parent
MARK_E = "Vexillarquo"  # in no corpus file (checked by the fixture)
MARK_R = "Zorbaquintel"
DUMMY_E = "Qwelmortasp"  # same lengths, in no cable: a search for them finds nothing
DUMMY_R = "Plindervoxyt"
UNKNOWN = "05NOWHERE9999"
CORPUS_HTML = "cablegate_html/2011-04_avilaroman/cable"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --------------------------------------------------------------------------- the archive


@dataclass
class World:
    site: PubSite
    e: str
    r: str
    e_release: datetime
    e_meta: dict = field(default_factory=dict)
    r_meta: dict = field(default_factory=dict)
    sample: list[str] = field(default_factory=list)
    editor: httpx.Client | None = None
    redaction_id: int | None = None
    e_comment: int | None = None


def _pick_pair(corpus: Path, engine) -> tuple[Path, Path]:
    """(R, E): 2011-04 pages of cables not in the archive, R citing E, and E
    cited by no cable already in the archive."""
    from cablegate.parse import parse_inputs

    pages = {p.stem: p for p in sorted((corpus / CORPUS_HTML).rglob("*.html"))}
    with engine.connect() as conn:
        present = set(conn.execute(select(cables.c.reference_id)).scalars())
        cited = set(conn.execute(select(links.c.target_id)).scalars())
    for refid, path in pages.items():
        if refid in present:
            continue
        record = next(iter(parse_inputs([str(path)])))
        for target in record.get("references") or []:
            if target in pages and target not in present and target not in cited \
                    and target != refid:
                return path, pages[target]
    pytest.fail("no suitable pair of cables in the corpus")


def _with_marker(html: str, marker: str, released: str | None = None) -> str:
    """The page with ``marker`` in its SUBJECT line and at the end of paragraph 1."""
    assert html.count("SUBJECT: ") >= 1
    html = html.replace("SUBJECT: ", f"SUBJECT: {marker} ", 1)
    sentence = f" The source, Colonel {marker}, confirmed this."
    anchor = "&#x000A;&#x000A;<a id='par2'"
    if anchor in html:
        html = html.replace(anchor, sentence + anchor, 1)
    else:
        end = html.rindex("</pre></code>")
        html = html[:end] + sentence + html[end:]
    if released:
        table = re.search(r"<table class='cable'>.*?</table>", html, re.S)
        cell = re.search(r"<a href='/reldate/[^']+'>[^<]+</a>", table.group(0))
        new_cell = f"<a href='/reldate/{released[:10]}_0.html'>{released}</a>"
        html = html.replace(cell.group(0), new_cell, 1)
    return html


def _meta(engine, refid: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(cables).where(cables.c.reference_id == refid)).one()
        tags = list(conn.execute(select(cable_tags.c.tag)
                                 .where(cable_tags.c.reference_id == refid)).scalars())
    return {"origin": row.origin, "classification": row.classification, "created": row.created,
            "release_at": row.release_at, "released": row.released, "tags": tags,
            "subject": row.subject}


@pytest.fixture(scope="module")
def world(site_archive, corpus, tmp_path_factory) -> World:
    from cablegate.indexer import open_index
    from cablegate.ingest import ingest

    for marker in (MARK_E, MARK_R, DUMMY_E, DUMMY_R):
        found = subprocess.run(["grep", "-rqi", marker, str(corpus)], timeout=120)
        assert found.returncode == 1, f"{marker} occurs in the corpus"
    base = tmp_path_factory.mktemp("leaks")
    archive = copy_archive(site_archive, base / "archive")
    add_users(archive.url)
    engine = get_engine(archive.url)
    r_path, e_path = _pick_pair(corpus, engine)
    e_release = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
    inputs = base / "inputs"
    inputs.mkdir()
    e_file, r_file = inputs / e_path.name, inputs / r_path.name
    e_file.write_text(_with_marker(e_path.read_text(), MARK_E,
                                   e_release.strftime("%Y-%m-%d %H:%M")))
    r_file.write_text(_with_marker(r_path.read_text(), MARK_R))
    index = open_index(archive.index_dir)
    try:
        summary = ingest([str(e_file), str(r_file)], engine, index=index, jobs=1)
    finally:
        index.close()
    assert summary.new == 2 and summary.rejected == 0
    e, r = e_path.stem, r_path.stem
    pub = PublicArchive(engine, None)
    assert pub.get_cable(e) is None and MARK_R in pub.get_cable(r)["body"]
    assert MARK_E in _meta(engine, e)["subject"] and MARK_R in _meta(engine, r)["subject"]

    # E's discussion, written while a later clock made it public, then approved.
    later = PublicArchive(engine, None, now=e_release + timedelta(days=1))
    posted = disc.submit_comment(engine, later, e, disc.CommentInput(
        "Early Reader", "early@example.org", None, f"So {MARK_E} was the source."), "c-e",
        now=e_release + timedelta(days=1))
    disc.moderate(engine, "comment", [posted.id], "approve", by="tests")
    ping = disc.submit_trackback(engine, later, e, disc.validate_trackback({
        "url": "https://blog.example/e", "title": f"{MARK_E} revealed",
        "excerpt": f"All about {MARK_E}.", "blog_name": "Early Blog"}), "c-e",
        now=e_release + timedelta(days=1))
    disc.moderate(engine, "trackback", [ping.id], "approve", by="tests")

    with engine.connect() as conn:
        sample = list(conn.execute(
            select(cables.c.reference_id).where(cables.c.release_at <= utcnow())
            .order_by(cables.c.reference_id).limit(8)).scalars())
    world = World(PubSite(archive, start_site(archive)), e, r, e_release,
                  _meta(engine, e), _meta(engine, r), sample, e_comment=posted.id)
    engine.dispose()
    try:
        _redact_and_discuss_r(world)
        yield world
    finally:
        world.site.close()


def _redact_and_discuss_r(world: World) -> None:
    """Through the site, as people would: a reader comments on R and a blog
    pings it, naming MARK_R; an editor redacts MARK_R and approves both."""
    site, r = world.site, world.r
    reader = site.client()
    page = reader.get(f"/cable/{r}", follow_redirects=True)
    sent = reader.post(f"/cable/{r}/comments", data={
        "name": "Knowing Reader", "email": "knows@example.org", "website": "",
        "comment": f"I know Colonel {MARK_R} personally.", "csrf_token": csrf_token(page.text)})
    assert sent.status_code == 303
    ping = site.client().post(f"/cable/{r}/trackback", data={
        "url": "https://blog.example/r", "title": "A post", "excerpt": f"It was {MARK_R}.",
        "blog_name": "Some Blog"})
    assert ping.status_code == 200

    editor = world.editor = site.login()
    view = editor.get(f"/admin/cable/{r}")
    assert view.status_code == 200 and MARK_R in view.text  # editors see the original
    done = editor.post(f"/admin/cable/{r}/redactions", data={
        "text": MARK_R, "occurrence": "1", "field": "body", "reason": "protects a source",
        "csrf_token": csrf_token(view.text)})
    assert done.status_code == 200, done.text[:500]
    world.redaction_id = int(re.search(r"Redaction (\d+) saved", done.text).group(1))
    engine = site.engine()
    with engine.connect() as conn:
        cid = conn.execute(select(comments.c.id).where(comments.c.reference_id == r)).scalar_one()
        tid = conn.execute(select(trackbacks.c.id).where(trackbacks.c.reference_id == r)
                           ).scalar_one()
    engine.dispose()
    for kind, item in (("comment", cid), ("trackback", tid)):
        queue = editor.get(f"/admin/discussion?kind={kind}")
        approved = editor.post("/admin/discussion", data={
            "kind": kind, "status": "pending", "action": "approve", "ids": str(item),
            "csrf_token": csrf_token(queue.text)})
        assert approved.status_code == 303


# --------------------------------------------------------------------------- requests


def _slug_page(value: str) -> str:
    return urls.slugify(value) + "_0"


def _names(world: World) -> dict[str, list[str]]:
    """Values of {name} per browse kind: where E and R are or would be listed."""
    out: dict[str, list[str]] = {}
    for meta in (world.e_meta, world.r_meta):
        reldates = {meta["release_at"].strftime("%Y-%m-%d")}
        if meta["released"]:
            reldates.add(meta["released"][:10])
        values = {
            "reldate": sorted(reldates | {world.e_release.strftime("%Y-%m-%d")}),
            "date": [meta["created"][:7]],
            "origin": [meta["origin"]],
            "tag": meta["tags"],
            "classification": [meta["classification"]],
        }
        for kind, items in values.items():
            out.setdefault(kind, [])
            out[kind] += [v for v in items if v and v not in out[kind]]
    return out


def _refids(world: World) -> list[str]:
    return [world.e, world.r, UNKNOWN, *world.sample]


def _searches(world: World) -> list[str]:
    e, meta = world.e_meta, world.e_meta
    return [
        world.e, world.r, f"released:{world.e_release:%Y-%m-%d}",
        f'origin:"{meta["origin"]}"', f'origin:"{meta["origin"]}" from:{e["created"][:4]}',
        f"tag:{meta['tags'][0]}" if meta["tags"] else "tag:PREL", "colonel confirmed",
        '"the source colonel"', "source", "XXXXXXXXXXXX",
    ]


def expand(path: str, world: World) -> list[str]:
    """Concrete URLs for a route path, parameters filled from the archive."""
    params = set(re.findall(r"{(\w+)}", path))
    kind = path.strip("/").split("/")[0]
    if not params:
        if path in ("/search", "/search.json"):
            return [f"{path}?q={quote(q)}" for q in _searches(world)] + [
                f"{path}?q={quote(world.e_meta['origin'])}&sort=released&page=0"]
        return [path]
    if params == {"path"}:  # the static files mount
        return ["/static/cables.css", "/static/publishing.css"]
    if params == {"year", "month", "refid"}:
        out = []
        for refid in _refids(world):
            meta = world.e_meta if refid in (world.e, UNKNOWN) else None
            created = (meta or {}).get("created")
            if refid == world.r:
                created = world.r_meta["created"]
            year, month = urls.cable_year_month(created, refid)
            out.append(path.format(year=year, month=month, refid=refid))
        return out
    if params == {"refid"}:
        return [path.format(refid=refid) for refid in _refids(world)] + [
            path.format(refid=world.e + ".json"), path.format(refid=world.r + ".json")]
    if params == {"name"}:
        names = _names(world)[kind]
        out = [path.format(name=_slug_page(v)) for v in names]
        out += [path.format(name=urls.slugify(v)) for v in names[:1]]
        if path.endswith(".json"):
            out += [path.format(name=_slug_page(names[0])) + "?sort=-released"]
        return out
    if params == {"slug"}:
        return [path.format(slug=urls.slugify(v)) for v in _names(world)[kind]]
    pytest.fail(f"route {path} has parameters the leak test does not know how to fill: "
                f"{sorted(params)} (extend expand())")


def public_get_urls(world: World) -> list[str]:
    out: list[str] = []
    for path, methods in app_routes():
        if "GET" not in methods or path.startswith("/admin"):
            continue
        out += expand(path, world)
    return out


def check_clean(name: str, text: str, *, allow_e: bool = False) -> None:
    lowered = text.lower()
    assert MARK_E.lower() not in lowered, f"MARK_E leaked in {name}"
    assert MARK_R.lower() not in lowered, f"MARK_R leaked in {name}"
    assert DUMMY_E.lower() not in lowered and DUMMY_R.lower() not in lowered


def same_as_dummy(client: httpx.Client, url_for, marker: str, dummy: str) -> None:
    """A search for a marker answers exactly like a search for a word in no cable."""
    a, b = client.get(url_for(marker)), client.get(url_for(dummy))
    assert a.status_code == b.status_code
    assert a.text.replace(marker, dummy).replace(marker.lower(), dummy.lower()) == b.text


# --------------------------------------------------------------------------- the proof


def test_embargoed_cable_and_redacted_span_never_reach_the_public(world, tmp_path):
    site, e, r = world.site, world.e, world.r
    client = site.client()
    urls_seen = public_get_urls(world)
    assert len(urls_seen) > 60
    for url in urls_seen:
        response = client.get(url)
        assert response.status_code < 500, url
        body = response.text
        if "q=" in url:  # a search echoes its query: compared with a dummy below
            body = body.replace(e, "<E>")
        check_clean(url, body)
        if e in body and not (e in url or r in url):
            pytest.fail(f"{e} (embargoed) named in {url}")
        if response.is_redirect:
            target = client.get(response.headers["location"])
            check_clean(f"{url} -> {response.headers['location']}", target.text)

    # E answers exactly like an unknown reference ID, on every route that takes one.
    for path, methods in app_routes():
        if "{refid}" not in path or path.startswith("/admin"):
            continue
        for method in sorted(methods & {"GET", "POST"}):
            year, month = urls.cable_year_month(world.e_meta["created"], e)
            a_url = path.format(year=year, month=month, refid=e)
            b_url = path.format(year=year, month=month, refid=UNKNOWN)
            if method == "GET":
                a, b = client.get(a_url), client.get(b_url)
            else:
                page = client.get(f"/cable/{r}", follow_redirects=True)
                form = {"name": "N", "email": "n@example.org", "comment": "c",
                        "url": "https://x.example/", "csrf_token": csrf_token(page.text)}
                a, b = client.post(a_url, data=form), client.post(b_url, data=form)
            assert a.status_code == b.status_code == 404, (method, path, a.status_code)
            assert a.headers.get("content-type") == b.headers.get("content-type")
            assert a.text.replace(e, "<ID>") == b.text.replace(UNKNOWN, "<ID>"), (method, path)

    # Searches for the markers answer like searches for words in no cable.
    for marker, dummy in ((MARK_E, DUMMY_E), (MARK_R, DUMMY_R)):
        for template in ("/search.json?q={}", "/search?q={}", "/search.json?q=subject:{}",
                         '/search?q="colonel {}"', "/search.json?q={}*"):
            same_as_dummy(client, lambda w, t=template: t.format(quote(w)), marker, dummy)

    # Counts and facets leave E out; R's public page marks E as not in the archive.
    engine = site.engine()
    now = utcnow()
    with engine.connect() as conn:
        released = conn.execute(select(func.count()).select_from(cables)
                                .where(cables.c.release_at <= now)).scalar_one()
        same_origin = conn.execute(select(func.count()).select_from(cables).where(
            cables.c.release_at <= now, cables.c.origin == world.e_meta["origin"])).scalar_one()
    engine.dispose()
    assert client.get("/index.json").json()["released"] == released
    origin = client.get("/search.json", params={"q": f'origin:"{world.e_meta["origin"]}"'}).json()
    assert origin["total"] == same_origin
    assert e not in json.dumps(origin)
    assert client.get(f"/search.json?q=released:{world.e_release:%Y-%m-%d}").json()["total"] == 0
    record = client.get(f"/cable/{r}.json", follow_redirects=True).json()
    cite = next(c for c in record["cites"] if c["reference_id"] == e)
    assert cite == {"reference_id": e, "in_archive": False, "url_date": None}
    assert e in record["unresolved_references"]
    assert REDACTED in record["body"] and REDACTED in record["subject"]
    assert REDACTED in record["discussion"]["comments"][0]["text"]

    # Admin pages answer the public with a redirect to the login page, nothing else.
    for path, methods in app_routes():
        if path.startswith("/admin") and "GET" in methods and "{" not in path:
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith(
                "/login"), path
            check_clean(path, response.text)

    # The exports and the static mirror.
    for name, text in exported(site.db_url, tmp_path).items():
        check_clean(name, text)
        if name.startswith("export."):  # one cable per record: only R's may cite E
            if name.endswith(".csv"):
                records = list(csv.DictReader(io.StringIO(text)))
            else:
                records = [json.loads(line) for line in text.splitlines()]
            citing = [x["reference_id"] for x in records if e in json.dumps(x)]
            assert citing == [r], f"{e} (embargoed) named in {name} by {citing}"
        elif e in text:
            assert r in name, f"{e} (embargoed) named in {name}"
    assert not list((tmp_path / "mirror").rglob(f"{e}.*"))


def exported(db_url: str, directory: Path) -> dict[str, str]:
    """Everything `cablegate export` (jsonl, csv) and `export-site` write: name -> text."""
    out: dict[str, str] = {}
    for fmt in ("jsonl", "csv"):
        target = directory / f"export.{fmt}"
        run(["export", "--format", fmt, "--output", str(target), "--db", db_url])
        out[target.name] = target.read_text()
        assert len(out[target.name]) > 10_000
    mirror = directory / "mirror"
    run(["export-site", str(mirror), "--db", db_url, "--workers", "1", "--quiet"])
    files = [p for p in mirror.rglob("*") if p.is_file()]
    assert len(files) > 500
    for path in files:
        out[str(path.relative_to(directory))] = path.read_bytes().decode("utf-8", "replace")
    return out


def run(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "cablegate", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


def test_released_cable_appears_everywhere_expected(world, tmp_path):
    site, e, r = world.site, world.e, world.r
    editor = world.editor
    form = editor.get("/admin/release")
    at = (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    preview = editor.post("/admin/release/preview", data={
        "at": at, "refids": e, "query": "", "csrf_token": csrf_token(form.text)})
    assert preview.status_code == 200 and "Become public" in preview.text
    applied = editor.post("/admin/release", data={
        "at": at, "refids": e, "query": "", "csrf_token": csrf_token(preview.text)})
    assert applied.status_code == 200

    client = site.client()
    page = client.get(f"/cable/{e}", follow_redirects=True)
    assert page.status_code == 200 and MARK_E in page.text
    assert f"So {MARK_E} was the source." in page.text  # its approved comment
    assert f"{MARK_E} revealed" in page.text  # and trackback
    record = page_json(client, e)
    assert [c["reference_id"] for c in record["cited_by"]] == [r]
    assert record["released"] == at
    r_record = page_json(client, r)
    cite = next(c for c in r_record["cites"] if c["reference_id"] == e)
    assert cite["in_archive"] is True and e not in r_record["unresolved_references"]

    hits = client.get("/search.json", params={"q": MARK_E}).json()
    assert [h["reference_id"] for h in hits["results"]] == [e]
    assert MARK_E.lower() in hits["results"][0]["snippet"].lower()
    assert client.get(f"/search.json?q=released:{at[:10]}").json()["total"] >= 1
    origin = client.get(urls.browse_path("origin", world.e_meta["origin"], 0, "json"),
                        params={"sort": "-released"}).json()
    assert origin["results"][0]["reference_id"] == e
    assert e in client.get(urls.browse_path("reldate", at[:10], 0, "json")).text
    assert e in client.get("/feed.atom").text
    assert e in client.get(urls.feed_path("origin", world.e_meta["origin"])).text
    assert MARK_E in client.get("/comments.atom").text
    assert MARK_E in client.get(f"/cable/{e}/comments.atom").text
    assert e in [row["reference_id"] for row in client.get("/index.json").json()["latest"]]

    # Still redacted: MARK_R nowhere.
    for url in (f"/cable/{r}.json", "/comments.atom", "/feed.atom", f"/cable/{r}/comments.atom"):
        assert MARK_R.lower() not in client.get(url, follow_redirects=True).text.lower()
    assert client.get("/search.json", params={"q": MARK_R}).json()["total"] == 0
    run(["export", "--format", "jsonl", "--output", str(tmp_path / "e.jsonl"),
         "--db", site.db_url])
    lines = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    exported_e = next(x for x in lines if x["reference_id"] == e)
    assert MARK_E in exported_e["body"]
    assert MARK_R not in json.dumps(lines)


def page_json(client: httpx.Client, refid: str) -> dict:
    response = client.get(f"/cable/{refid}.json", follow_redirects=True)
    assert response.status_code == 200
    return response.json()


def test_unredaction_reveals_the_text_as_a_new_revision(world, tmp_path):
    site, r = world.site, world.r
    editor = world.editor
    view = editor.get(f"/admin/cable/{r}")
    lifted = editor.post(f"/admin/cable/{r}/redactions/{world.redaction_id}/lift",
                         data={"csrf_token": csrf_token(view.text)})
    assert lifted.status_code == 200 and "published as revision" in lifted.text

    client = site.client()
    record = page_json(client, r)
    assert MARK_R in record["body"] and MARK_R in record["subject"]
    assert [v["source_format"] for v in record["revisions"]][-1] == "unredaction"
    assert len(record["revisions"]) == 2
    assert f"Colonel {MARK_R} personally" in record["discussion"]["comments"][0]["text"]
    page = client.get(record["links"]["html"]).text
    assert "published in 2 versions" in page
    diff = re.search(r'<pre class="cable-text diff-text">(.*?)</pre>', page, re.S).group(1)
    assert re.search(rf"<ins>[^<]*{MARK_R}", diff) and re.search(rf"<del>[^<]*{REDACTED}", diff)
    hits = client.get("/search.json", params={"q": MARK_R}).json()
    assert [h["reference_id"] for h in hits["results"]] == [r]
    run(["export", "--format", "csv", "--output", str(tmp_path / "r.csv"), "--db", site.db_url])
    assert MARK_R in (tmp_path / "r.csv").read_text()


def test_a_new_route_would_be_walked_too():
    """The walk covers what the router has: every public GET route expands to URLs."""
    fake = World(site=None, e="05ROME1", r="05ROME2",  # type: ignore[arg-type]
                 e_release=datetime(2030, 1, 1),
                 e_meta={"origin": "Embassy Rome", "classification": "SECRET",
                         "created": "2005-05-03 15:03", "release_at": datetime(2030, 1, 1),
                         "released": "2030-01-01 00:00", "tags": ["PREL"], "subject": "S"},
                 r_meta={"origin": "Embassy Rome", "classification": "SECRET",
                         "created": "2005-06-03 15:03", "release_at": datetime(2010, 1, 1),
                         "released": "2010-01-01 00:00", "tags": ["PGOV"], "subject": "S"},
                 sample=["07MOSCOW2205"])
    paths = {p for p, methods in app_routes() if "GET" in methods and not p.startswith("/admin")}
    assert {"/cable/{year}/{month}/{refid}.html", "/comments.atom", "/search.json",
            "/cable/{refid}/comments.atom"} <= paths
    for path in paths:
        assert expand(path, fake), path
    with pytest.raises(pytest.fail.Exception, match="extend expand"):
        expand("/new/{thing}", fake)
