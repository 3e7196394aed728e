"""Comments and trackbacks (discussion.py, web/discuss.py): validation, escaping,
moderation, approved commenters, throttling, the gate, feeds, Trackback 1.2 and
its RDF auto-discovery. Storage on SQLite and PostgreSQL; the site over real HTTP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from _pubsite import csrf_token
from _records import make_record, write
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import select

from cablegate import db, publishing
from cablegate import discussion as disc
from cablegate.public import REDACTED, PublicArchive
from cablegate.schema import changes, comments, trackbacks

NOW = datetime(2026, 3, 1, 12, 0)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    write(engine, [
        make_record("07MOSCOW1", body="1. (C) ONE.\n2. (C) MET ZELDRANOV.", released="2010-12-06 12:12"),
        make_record("09ROME3", body="1. (S) LATER.",
                    released=(NOW + timedelta(days=10)).strftime("%Y-%m-%d %H:%M")),
    ], now=NOW - timedelta(days=1))
    yield engine
    engine.dispose()


def archive(engine, now=NOW) -> PublicArchive:
    return PublicArchive(engine, None, now=now)


def comment(name="Reader", email="reader@example.org", url=None, body="Interesting, see #par2."):
    return disc.CommentInput(name, email, url, body)


def post(engine, item=None, client="c1", refid="07MOSCOW1", now=NOW, limits=((100, 60),)):
    return disc.submit_comment(engine, archive(engine, now), refid, item or comment(), client,
                               now=now, limits=limits)


# --------------------------------------------------------------------------- validation, rendering


def test_comment_validation():
    item, errors = disc.validate_comment({"name": " Ann  Lee ", "email": "Ann@Example.ORG",
                                          "website": "example.org/blog", "comment": "Hi\r\nthere"})
    assert errors == {} and item == disc.CommentInput(
        "Ann Lee", "ann@example.org", "http://example.org/blog", "Hi\nthere")
    _, errors = disc.validate_comment({"name": "", "email": "nope", "website": "javascript:alert(1)",
                                       "comment": "x" * (disc.MAX_BODY + 1)})
    assert set(errors) == {"name", "email", "website", "comment"}
    for bad in ("javascript:alert(1)", "data:text/html,<b>", "http://a b", "ftp://x.org",
                'http://x.org/"onmouseover=1', "http://user@x.org/"):
        with pytest.raises(ValueError):
            disc.normalize_url(bad)


def test_comment_html_escapes_and_links():
    html = disc.comment_html(
        '<script>alert(1)</script> see https://example.org/a?b=1&c=2. and ¶3, #par4, '
        'paragraph 5\n\nnew "para"', "/cable/2007/05/07MOSCOW1.html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert ('<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow ugc">'
            "https://example.org/a?b=1&amp;c=2</a>.") in html
    assert '<a href="/cable/2007/05/07MOSCOW1.html#par3">¶3</a>' in html
    assert '<a href="/cable/2007/05/07MOSCOW1.html#par4">#par4</a>' in html
    assert '<a href="/cable/2007/05/07MOSCOW1.html#par5">paragraph 5</a>' in html
    assert html.count("<p>") == 2 and "&#34;para&#34;" in html or "&quot;para&quot;" in html
    # Only http(s) URLs become links.
    assert "<a" not in disc.comment_html("javascript:alert(1) data:x,y")


def test_trackback_validation_and_xml():
    ping = disc.validate_trackback({"url": "https://blog.example/post", "title": "T" * 400,
                                    "excerpt": "E", "blog_name": "B"})
    assert ping.url == "https://blog.example/post" and len(ping.title) == disc.MAX_TITLE
    for form in ({}, {"url": "javascript:x"}, {"url": "blog.example/post"}):
        with pytest.raises(ValueError):
            disc.validate_trackback(form)
    ok = ET.fromstring(disc.trackback_xml())
    assert ok.tag == "response" and ok.findtext("error") == "0"
    bad = ET.fromstring(disc.trackback_xml("url <missing> & co"))
    assert bad.findtext("error") == "1" and bad.findtext("message") == "url <missing> & co"


# --------------------------------------------------------------------------- moderation and the gate


def test_new_comments_wait_and_approved_commenters_go_through(engine):
    first = post(engine)
    assert first.status == "pending"
    assert archive(engine).discussion("07MOSCOW1")["comments"] == []
    assert disc.moderate(engine, "comment", [first.id], "approve", by="ed", now=NOW) == 1
    shown = archive(engine).discussion("07MOSCOW1")["comments"]
    assert [c["id"] for c in shown] == [first.id]
    assert "email" not in repr(shown) and "reader@example.org" not in repr(shown)
    assert shown[0]["html"] == ('<p>Interesting, see <a href="/cable/2007/05/07MOSCOW1.html#par2">'
                                "#par2</a>.</p>")
    # The same name and address now go straight through; a new one does not.
    assert post(engine, comment(body="Again")).status == "approved"
    assert post(engine, comment(name="Other", email="o@example.org")).status == "pending"
    with engine.connect() as conn:
        kinds = list(conn.execute(select(changes.c.kind).where(
            changes.c.reference_id == "07MOSCOW1").order_by(changes.c.seq)).scalars())
    assert kinds[-2:] == ["discussion", "discussion"]  # approval, then the trusted comment


def test_spam_and_rejections(engine):
    a = post(engine)
    disc.moderate(engine, "comment", [a.id], "approve", by="ed", now=NOW)
    disc.moderate(engine, "comment", [a.id], "spam", by="ed", now=NOW)
    assert archive(engine).discussion("07MOSCOW1")["comments"] == []
    # A commenter marked as spam is not trusted any more.
    assert post(engine, comment(body="More")).status == "pending"
    total, items = disc.queue(engine, "comment", "spam", now=NOW)
    assert total == 1 and items[0]["id"] == a.id
    assert disc.moderate(engine, "comment", [a.id], "delete", by="ed", now=NOW) == 1
    assert disc.status_counts(engine)["comment"] == {"pending": 1, "approved": 0,
                                                     "rejected": 0, "spam": 0}
    with pytest.raises(ValueError):
        disc.moderate(engine, "comment", [a.id], "publish", by="ed")


def test_comments_are_throttled_per_client(engine):
    limits = ((2, 60),)
    post(engine, client="c1", limits=limits)
    post(engine, client="c1", limits=limits, now=NOW + timedelta(seconds=1))
    with pytest.raises(disc.Throttled) as err:
        post(engine, client="c1", limits=limits, now=NOW + timedelta(seconds=2))
    assert 0 < err.value.retry_after <= 60
    post(engine, client="c2", limits=limits, now=NOW + timedelta(seconds=2))
    post(engine, client="c1", limits=limits, now=NOW + timedelta(seconds=61))
    with engine.connect() as conn:
        assert len(conn.execute(select(comments.c.id)).all()) == 4


def test_nothing_of_an_unreleased_cable(engine):
    with pytest.raises(disc.NotPublic):
        post(engine, refid="09ROME3")
    with pytest.raises(disc.NotPublic):
        post(engine, refid="99NOWHERE1")
    # A comment posted while it was public (here: at a later clock), approved ...
    later = NOW + timedelta(days=11)
    item = post(engine, refid="09ROME3", now=later)
    disc.moderate(engine, "comment", [item.id], "approve", by="ed", now=later)
    assert archive(engine, later).discussion("09ROME3")["comments"]
    assert [c["reference_id"] for c in archive(engine, later).latest_comments()] == ["09ROME3"]
    # ... is nowhere while the cable is not public.
    assert archive(engine).discussion("09ROME3") is None
    assert archive(engine).latest_comments() == []


def test_redactions_apply_to_what_readers_wrote(engine):
    item = post(engine, comment(body="Zeldranov is the source!", url="http://zeldranov.example/"))
    disc.moderate(engine, "comment", [item.id], "approve", by="ed", now=NOW)
    publishing.add_redaction(engine, "07MOSCOW1", text="zeldranov", reason="source", by="ed",
                             now=NOW)
    shown = archive(engine).discussion("07MOSCOW1")["comments"][0]
    assert shown["text"] == f"{REDACTED} is the source!" and shown["website"] is None
    assert "zeldranov" not in repr(archive(engine).latest_comments()).lower()


def test_trackbacks_wait_for_moderation(engine):
    ping = disc.validate_trackback({"url": "https://blog.example/p", "title": "On 07MOSCOW1",
                                    "excerpt": "x" * 400, "blog_name": "A blog"})
    first = disc.submit_trackback(engine, archive(engine), "07MOSCOW1", ping, "c1", now=NOW)
    again = disc.submit_trackback(engine, archive(engine), "07MOSCOW1", ping, "c1", now=NOW)
    assert first == again and first.status == "pending"
    assert archive(engine).discussion("07MOSCOW1")["trackbacks"] == []
    disc.moderate(engine, "trackback", [first.id], "approve", by="ed", now=NOW)
    shown = archive(engine).discussion("07MOSCOW1")["trackbacks"]
    assert shown[0]["url"] == "https://blog.example/p"
    assert len(shown[0]["excerpt"]) == disc.EXCERPT_SHOWN
    with engine.connect() as conn:
        assert len(conn.execute(select(trackbacks.c.id)).all()) == 1


# --------------------------------------------------------------------------- over HTTP


def public_cable(pub_site, skip=()):
    """A public corpus cable for a test of its own."""
    from sqlalchemy import text

    engine = pub_site.engine()
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT reference_id FROM cables WHERE release_at < CURRENT_TIMESTAMP "
            "AND subject NOT LIKE 'SYNTHETIC%' AND reference_id NOT IN "
            "(SELECT reference_id FROM comments) AND reference_id NOT IN "
            "(SELECT reference_id FROM trackbacks) ORDER BY reference_id")).scalars().all()
    engine.dispose()
    return next(r for r in rows if r not in skip and r != "08KYIV2414")


def comment_form(client, refid):
    page = client.get(f"/cable/{refid}", follow_redirects=True)
    assert page.status_code == 200
    return page


def test_posting_a_comment_then_moderating_it(pub_site):
    refid = public_cable(pub_site)
    reader = pub_site.client()
    page = comment_form(reader, refid)
    form = HTMLParser(page.text).css_first("form.comment-form")
    assert form.attributes["action"] == f"/cable/{refid}/comments"
    names = {i.attributes.get("name") for i in form.css("input, textarea")}
    assert {"name", "email", "website", "comment", "csrf_token", disc.HONEYPOT} <= names
    sent = reader.post(f"/cable/{refid}/comments", data={
        "name": "Jane Q.", "email": "jane@example.org", "website": "https://jane.example",
        "comment": "See ¶2 and https://news.example/story.", "csrf_token": csrf_token(page.text)})
    assert sent.status_code == 303 and sent.headers["location"] == f"/cable/{refid}/pending"
    assert "awaiting moderation" in reader.get(sent.headers["location"]).text
    assert "Jane Q." not in comment_form(pub_site.client(), refid).text

    editor = pub_site.login()
    queue = editor.get("/admin/discussion?kind=comment&status=pending")
    assert "jane@example.org" in queue.text  # moderators see the address
    engine = pub_site.engine()
    with engine.connect() as conn:
        cid = str(conn.execute(select(comments.c.id).where(
            comments.c.reference_id == refid, comments.c.author_name == "Jane Q.")).scalar_one())
    engine.dispose()
    assert f'name="ids" value="{cid}"' in queue.text
    done = editor.post("/admin/discussion", data={"kind": "comment", "status": "pending",
                                                  "action": "approve", "ids": cid,
                                                  "csrf_token": csrf_token(queue.text)})
    assert done.status_code == 303

    page = comment_form(pub_site.client(), refid)
    tree = HTMLParser(page.text)
    item = tree.css_first(f"#comment-{cid}")
    assert item is not None and "Jane Q." in item.text()
    author = item.css_first(".comment-author a")
    assert author.attributes["href"] == "https://jane.example"
    assert author.attributes["rel"] == "nofollow ugc external"
    link = [a for a in item.css(".comment-text a") if a.attributes["href"].startswith("https")][0]
    assert link.attributes["rel"] == "nofollow ugc"
    assert item.css_first(".comment-text a[href$='#par2']") is not None
    assert "jane@example.org" not in page.text
    record = reader.get(f"/cable/{refid}.json", follow_redirects=True).json()
    assert [c["name"] for c in record["discussion"]["comments"]] == ["Jane Q."]
    assert "jane@example.org" not in str(record)

    # Approved commenter: the next comment is published at once, at its anchor.
    page = comment_form(reader, refid)
    again = reader.post(f"/cable/{refid}/comments", data={
        "name": "Jane Q.", "email": "jane@example.org", "comment": "A second thought.",
        "csrf_token": csrf_token(page.text)})
    assert again.status_code == 303 and "#comment-" in again.headers["location"]
    assert "A second thought." in comment_form(pub_site.client(), refid).text

    # Feeds: the cable's and the site's.
    for path in (f"/cable/{refid}/comments.atom", "/comments.atom"):
        feed = pub_site.client().get(path)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith(
            "application/atom+xml")
        root = ET.fromstring(feed.content)
        entries = root.findall(f"{ATOM}entry")
        titles = [e.findtext(f"{ATOM}title") for e in entries]
        assert f"Comment on {refid} by Jane Q." in titles
        assert "jane@example.org" not in feed.text


def test_invalid_comments_are_shown_back_with_reasons(pub_site):
    refid = public_cable(pub_site)
    reader = pub_site.client()
    page = comment_form(reader, refid)
    sent = reader.post(f"/cable/{refid}/comments", data={
        "name": "", "email": "not-an-address", "website": "javascript:alert(1)",
        "comment": "My <b>text</b>", "csrf_token": csrf_token(page.text)})
    assert sent.status_code == 422
    tree = HTMLParser(sent.text)
    assert tree.css_first("textarea#c-comment").text() == "My <b>text</b>"
    assert "This is not an e-mail address." in sent.text and "Please give a name." in sent.text
    assert "only http:// and https:// addresses" in sent.text


def test_honeypot_and_throttle(pub_site):
    refid = public_cable(pub_site)
    engine = pub_site.engine()
    reader = pub_site.client()
    page = comment_form(reader, refid)
    token = csrf_token(page.text)
    bot = reader.post(f"/cable/{refid}/comments", data={
        "name": "Bot", "email": "bot@example.org", "comment": "Buy now",
        disc.HONEYPOT: "cheap pills", "csrf_token": token})
    assert bot.status_code == 303  # looks accepted ...
    with engine.connect() as conn:  # ... but nothing is stored
        assert conn.execute(select(comments.c.id).where(comments.c.author_name == "Bot")).first() \
            is None
    codes = [reader.post(f"/cable/{refid}/comments", data={
        "name": "Fast", "email": "fast@example.org", "comment": f"Comment {i}",
        "csrf_token": token}).status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    # Another client is not affected.
    other = pub_site.client()
    page = comment_form(other, refid)
    assert other.post(f"/cable/{refid}/comments", data={
        "name": "Calm", "email": "calm@example.org", "comment": "Hello",
        "csrf_token": csrf_token(page.text)}).status_code == 303
    engine.dispose()


def test_trackback_protocol_and_rdf_discovery(pub_site):
    refid = public_cable(pub_site)
    page = pub_site.client().get(f"/cable/{refid}", follow_redirects=True).text
    rdf = re.search(r"<!--\s*(<rdf:RDF.*?</rdf:RDF>)\s*-->", page, re.S)
    assert rdf, "no Trackback RDF block in the cable page"
    description = ET.fromstring(rdf.group(1)).find(
        "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    ping_url = description.get("{http://madskills.com/public/xml/rss/module/trackback/}ping")
    assert ping_url == f"{pub_site.base}/cable/{refid}/trackback"
    assert description.get("{http://purl.org/dc/elements/1.1/}identifier").endswith(
        f"/{refid}.html")
    assert f'href="/cable/{refid}/trackback" rel="trackback"' in page

    blog = pub_site.client()
    # A blog pings with a plain form POST: no cookie, no CSRF token.
    response = blog.post(ping_url.removeprefix(pub_site.base), data={
        "url": "https://blog.example/2010/12/01/cables", "title": f"On {refid}",
        "excerpt": "A blog post about the cable.", "blog_name": "Example Blog"},
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert ET.fromstring(response.content).findtext("error") == "0"
    missing = blog.post(f"/cable/{refid}/trackback", data={"title": "no url"})
    assert missing.status_code == 400
    assert ET.fromstring(missing.content).findtext("error") == "1"
    assert "url" in ET.fromstring(missing.content).findtext("message")
    assert "blog.example" not in pub_site.client().get(f"/cable/{refid}",
                                                       follow_redirects=True).text

    engine = pub_site.engine()
    with engine.connect() as conn:
        tid = conn.execute(select(trackbacks.c.id).where(trackbacks.c.reference_id == refid)
                           ).scalar_one()
    disc.moderate(engine, "trackback", [tid], "approve", by="ed")
    engine.dispose()
    tree = HTMLParser(pub_site.client().get(f"/cable/{refid}", follow_redirects=True).text)
    item = tree.css_first(f"#trackback-{tid}")
    assert item is not None and "Example Blog" in item.text()
    assert item.css_first("a").attributes["href"] == "https://blog.example/2010/12/01/cables"
    assert item.css_first("a").attributes["rel"] == "nofollow ugc external"
