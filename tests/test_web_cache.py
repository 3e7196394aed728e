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
