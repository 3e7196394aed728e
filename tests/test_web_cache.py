"""The caches of rendered cable pages stay exact: a redaction, an un-release or a
new citing cable is visible on the very next request, in every worker process
(two PageStore instances on one file stand for two uvicorn workers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cablegate.db import get_engine, utcnow
from cablegate.public import PublicArchive
from cablegate.store import add_redaction, set_release_at
from cablegate.web.cache import PageCache
from cablegate.web.pagestore import PageStore
from cablegate.web.site import NotFound, Site


@pytest.fixture()
def archive(tmp_path):
    from cablegate.demo import build_demo

    engine = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    build_demo(engine, None, count=60, seed=5)
    return PublicArchive(engine, None)


def citing_pair(archive) -> tuple[str, str]:
    for record in archive.iter_records():
        for target in record["references"]:
            if archive.get_cable(target) is not None:
                return record["reference_id"], target
    raise AssertionError("no demo cable cites a public cable")


@pytest.fixture(params=["store", "memory"])
def caches(request, archive, tmp_path):
    if request.param == "store":
        return [PageStore(archive, tmp_path / "pages.db"),
                PageStore(archive, tmp_path / "pages.db")]
    return [PageCache(archive)]


def test_a_redaction_is_served_on_the_next_request_everywhere(archive, caches):
    site = Site(archive)
    citing, cited = citing_pair(archive)
    body = archive.get_cable(citing)["body"]
    html = site.cable_page(citing).html
    # A word that appears on the page only inside the body box.
    word = next(w for w in body.split()
                if len(w) > 6 and w.isalpha() and html.count(w) == body.count(w))
    for cache in caches:
        assert word.encode() in cache.get(citing, site.cable_page).html_bytes
    assert caches[0].get(citing, site.cable_page).html_bytes  # served from the cache now
    with archive.engine.begin() as conn:
        add_redaction(conn, citing, word, reason="test", created_by="test", now=utcnow())
    for cache in caches:
        page = cache.get(citing, site.cable_page)
        assert word.encode() not in page.html_bytes and word.encode() not in page.json_bytes
        assert b"XXXXXXXXXXXX" in page.html_bytes


def test_withdrawing_a_cable_updates_the_pages_that_show_it(archive, caches):
    site = Site(archive)
    citing, cited = citing_pair(archive)
    for cache in caches:
        assert citing.encode() in cache.get(cited, site.cable_page).html_bytes  # "cited by"
        assert f"{cited}.html".encode() in cache.get(citing, site.cable_page).html_bytes
    with archive.engine.begin() as conn:
        set_release_at(conn, [citing], utcnow() + timedelta(days=9), by="test", now=utcnow())
    for cache in caches:
        with pytest.raises(NotFound):
            cache.get(citing, site.cable_page)
        assert citing.encode() not in cache.get(cited, site.cable_page).html_bytes


def test_hits_are_counted_and_unchanged_pages_are_not_rerendered(archive, caches):
    site = Site(archive)
    refid = next(archive.iter_records())["reference_id"]
    renders = []

    def render(r):
        renders.append(r)
        return site.cable_page(r)

    cache = caches[0]
    first = cache.get(refid, render).html_bytes
    for _ in range(5):
        assert cache.get(refid, render).html_bytes == first
    assert renders == [refid] and cache.hits == 5


# --------------------------------------------------------------------------- search and browse pages


def unique_subject_word(archive) -> tuple[str, str]:
    """(a cable, a word of its subject that no other cable's subject or text has)."""
    records = list(archive.iter_records())
    texts = {r["reference_id"]: f"{r['subject']} {r['body']}".lower() for r in records}
    for record in records:
        for word in record["subject"].split():
            if len(word) > 5 and word.isalpha() and not any(
                    word.lower() in text for refid, text in texts.items()
                    if refid != record["reference_id"]):
                return record["reference_id"], word
    raise AssertionError("no subject word is unique to one cable")


def test_a_stored_browse_page_follows_releases_by_time_within_the_count_interval(tmp_path):
    """Releases by time write nothing: the release counter, re-read every
    ``count_interval`` seconds, is what drops the stored views (the documented bound)."""
    from cablegate.demo import build_demo
    from cablegate.web.app import _stored

    engine = get_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    build_demo(engine, None, count=40, seed=7)
    now = [utcnow()]
    archive = PublicArchive(engine, None, now=lambda: now[0])
    records = list(archive.iter_records())
    refid, tag = next((r["reference_id"], tag) for r in records for tag in r["tags"]
                      if sum(tag in other["tags"] for other in records) > 1)
    with engine.begin() as conn:  # scheduled a minute from now
        set_release_at(conn, [refid], now[0] + timedelta(minutes=1), by="test", now=now[0])
    ticks = [0.0]
    store = PageStore(archive, tmp_path / "pages.db", count_interval=2.0, clock=lambda: ticks[0])
    site = Site(archive)
    store.on_counts_change = lambda: setattr(site, "_counts", None)  # as the app wires it
    renders = []

    def browse_view():
        renders.append(1)
        return _stored(site.browse_page("tag", tag, 0), "html")

    key = f"browse|tag|html||{tag}_0"  # any key: the store does not parse it
    assert refid.encode() not in store.view(key, browse_view).body
    assert refid.encode() not in store.view(key, browse_view).body and len(renders) == 1
    now[0] += timedelta(minutes=2)  # its release time passes
    ticks[0] += 1.0  # within the interval: the stored page is still served
    assert refid.encode() not in store.view(key, browse_view).body and len(renders) == 1
    ticks[0] += 1.0
    assert refid.encode() in store.view(key, browse_view).body and len(renders) == 2


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """``cablegate serve --workers 2`` on a small demo archive with a search index."""
    from _site import LiveSite, SiteArchive

    from cablegate.demo import build_demo
    from cablegate.indexer import open_index, sync_index

    directory = tmp_path_factory.mktemp("views")
    url = f"sqlite:///{directory / 'site.db'}"
    index_dir = str(directory / "site.db.index")
    engine = get_engine(url)
    index = open_index(index_dir)
    try:
        build_demo(engine, index, count=60, seed=11)
        sync_index(engine, index)
    finally:
        index.close()
    site = LiveSite(SiteArchive(url, index_dir, directory / "site.db"), workers=2)
    yield site, PublicArchive(engine, None), directory
    site.stop()
    engine.dispose()


def stored_views(directory, prefix: str) -> int:
    import sqlite3

    with sqlite3.connect(directory / "site.db.pages") as db:
        return db.execute("SELECT count(*) FROM views WHERE key LIKE ?", (prefix + "%",)).fetchone()[0]


def wait_for_index(directory, archive, timeout: float = 20.0) -> None:
    """Until the search index has applied the whole change log (the server's syncer)."""
    import time

    from cablegate.indexer import open_index

    head, _ = archive.changes_since(None)
    index = open_index(directory / "site.db.index")
    deadline = time.monotonic() + timeout
    while index.last_seq < head:
        assert time.monotonic() < deadline, "the search index did not catch up"
        time.sleep(0.2)


def get_both_workers(client, path: str, times: int = 6) -> list[str]:
    """``path`` fetched on fresh connections (uvicorn spreads them over the workers)."""
    import httpx

    bodies = []
    for _ in range(times):
        with httpx.Client(base_url=client.base_url, timeout=60) as fresh:
            response = fresh.get(path)
            assert response.status_code == 200, (path, response.status_code)
            bodies.append(response.text)
    return bodies


def test_stored_search_and_browse_pages_follow_a_redaction_and_a_withdrawal(two_workers):
    import httpx

    live, archive, directory = two_workers
    refid, word = unique_subject_word(archive)
    tag = archive.get_cable(refid)["tags"][0]
    browse = f"/tag/{tag}_0.html"
    search, search_json = f"/search?q={word}", f"/search.json?q={word}"
    with httpx.Client(base_url=live.base, timeout=60) as client:
        for body in get_both_workers(client, search) + get_both_workers(client, browse):
            assert refid in body and word in body
        assert refid in client.get(search_json).text
        assert stored_views(directory, 'search["html"') and stored_views(directory, 'browse["tag"')

        with archive.engine.begin() as conn:  # an editor, in another process
            add_redaction(conn, refid, word, reason="test", created_by="test", now=utcnow())
        for body in get_both_workers(client, browse):  # read from the archive: at once
            assert refid in body and word not in body
        wait_for_index(directory, archive)
        for body in get_both_workers(client, search):  # the query is echoed, not found
            assert refid not in body
        assert refid not in client.get(search_json).text

        other = next(r["reference_id"] for r in archive.iter_records()
                     if tag in r["tags"] and r["reference_id"] != refid)
        assert all(other in body for body in get_both_workers(client, browse))
        found = f"/search?q={other}"
        assert all(f"{other}.html" in body for body in get_both_workers(client, found))
        with archive.engine.begin() as conn:  # withdrawn: scheduled again, next year
            set_release_at(conn, [other], utcnow() + timedelta(days=365), by="test", now=utcnow())
        for body in get_both_workers(client, browse):
            assert other not in body
        wait_for_index(directory, archive)
        for body in get_both_workers(client, found):  # the query is echoed, not found
            assert f"{other}.html" not in body


def test_the_cable_fast_path_answers_what_fill_page_would(archive, tmp_path):
    """The ASGI fast path writes cable pages without Request/Response objects: its
    bytes, reader's CSRF field, site address and cookie must be csrf.fill_page's."""
    import asyncio

    import httpx
    from starlette.requests import Request
    from starlette.responses import Response

    from cablegate import csrf
    from cablegate.web.app import create_app

    app = create_app(lambda: archive, page_store=tmp_path / "pages.db")
    refid, _ = citing_pair(archive)
    path = Site(archive).cable_page(refid).path
    cookies = {csrf.COOKIE: "c" * 40, csrf.SESSION_COOKIE: "s" * 40}

    async def fetch(jar: dict) -> list[httpx.Response]:
        """Two requests (a miss, then a hit), each from a new client with these cookies."""
        header = {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        responses = []
        for _ in range(2):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://site.test") as client:
                responses.append(await client.get(path, headers=header))
        return responses

    stored = app.state.holder.cache
    for response in asyncio.run(fetch(cookies)):
        assert response.status_code == 200 and "set-cookie" not in response.headers
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "scheme": "http", "server": ("site.test", 80), "root_path": "", "app": app,
                 "headers": [(b"host", b"site.test"),
                             (b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())]}
        expected = csrf.fill_page(Request(scope), stored.get(refid, None).html_bytes, "text/html")
        assert response.content == expected.body
        assert b"<!--cablegate:" not in response.content and b"<cablegate:" not in response.content
        assert response.headers["access-control-allow-origin"] == "*"
    assert stored.hits >= 1  # the second request was served from the store

    for response in asyncio.run(fetch({})):  # a new reader: a cookie is minted
        minted = response.cookies[csrf.COOKIE]
        reference = Response(b"")
        csrf.set_cookie(reference, Request({"type": "http", "scheme": "http", "headers": [],
                                            "server": ("site.test", 80), "path": "/"}),
                        csrf.COOKIE, minted, csrf.COOKIE_MAX_AGE)
        assert response.headers["set-cookie"] == reference.headers["set-cookie"]
        token = csrf.token_for(app.state.publishing.secret, minted, None)
        assert f'value="{token}"'.encode() in response.content


def test_view_keys_are_the_routes_keys_or_none():
    from cablegate.web.app import browse_key, search_key, view_key

    assert view_key("/search", b"q=iran%20oil&page=2") == search_key("html", "iran oil", 2,
                                                                     "relevance")
    assert view_key("/search.json", b"") == search_key("json", "", 0, "relevance")
    assert view_key("/tag/PGOV_3.json", b"sort=created") == browse_key("tag", "json", "created",
                                                                       "PGOV_3")
    assert view_key("/origin/Embassy_Moscow_0.html", b"") == browse_key(
        "origin", "html", None, "Embassy_Moscow_0")
    assert view_key("/search", b"q=&sort=relevance%7C0%7Cx") != search_key("html", "x|0|", 0,
                                                                           "relevance")
    for path, query in [("/search", b"q=a&q=b"), ("/search", b"page=-1"), ("/search", b"page=x"),
                        ("/tag/index.html", b""), ("/tag/PGOV.html", b""), ("/cable/x.html", b""),
                        ("/tag/PGOV_0.atom", b"")]:
        assert view_key(path, query) is None, (path, query)
