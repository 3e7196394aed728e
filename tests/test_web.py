"""The public site over real HTTP: cable pages, browse indexes, search, JSON twins,
feeds, API, errors. The server is ``cablegate serve`` in a subprocess on an archive
of real corpus cables plus synthetic demo cables (tests/_site.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from cablegate import ids

ATOM = "{http://www.w3.org/2005/Atom}"


def page(http, path: str, status: int = 200) -> HTMLParser:
    response = http.get(path)
    assert response.status_code == status, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    return HTMLParser(response.text)


def cable_json(http, refid: str) -> dict:
    response = http.get(f"/cable/{refid}.json", follow_redirects=True)
    assert response.status_code == 200, refid
    return response.json()


def text_of(node) -> str:
    return node.text(deep=True)


@pytest.fixture(scope="module")
def citing_pair(http, site_archive) -> tuple[dict, dict]:
    """A demo cable that cites another cable in the archive, and that cable."""
    for refid in site_archive.demo_ids:
        if refid in site_archive.embargoed:
            continue
        record = cable_json(http, refid)
        inside = [c for c in record["cites"] if c["in_archive"]]
        if inside:
            return record, cable_json(http, inside[0]["reference_id"])
    pytest.fail("no demo cable cites another public cable")


# --------------------------------------------------------------------------- the cable page


def test_cable_page_has_what_the_seed_page_shows(http, site_archive):
    record = cable_json(http, "08KYIV2414")
    path = record["links"]["html"]
    assert path == "/cable/2008/12/08KYIV2414.html"
    tree = page(http, path)
    heading = text_of(tree.css_first("h1"))
    assert " ".join(heading.split()) == f"Viewing cable 08KYIV2414, {record['subject']}"
    help_text = text_of(tree.css_first("#help-discussing"))
    assert "#cablegate" in help_text and "#08KYIV2414" in help_text
    assert "Understanding cables" in text_of(tree.css_first("#help-understanding"))
    headers = [text_of(th) for th in tree.css("table.cable-meta th")]
    assert headers == ["Reference ID", "Created", "Released", "Classification", "Origin"]
    cells = tree.css("table.cable-meta td")
    links = [cell.css_first("a").attributes["href"] for cell in cells]
    assert links == [
        path,
        f"/date/{record['created'][:7]}_0.html",
        f"/reldate/{record['released'][:10]}_0.html",
        f"/classification/{record['classification'].replace('//', '_')}_0.html",
        f"/origin/{record['origin'].replace(' ', '_')}_0.html",
    ]
    assert text_of(cells[4]).strip() == record["origin"]
    for link in links[1:]:  # every metadata cell leads to a browse page listing the cable
        listing = http.get(link)
        assert listing.status_code == 200, link
        assert "08KYIV2414" in listing.text or "Next" in listing.text


def test_boxes_keep_the_cable_text_exactly(http):
    record = cable_json(http, "08KYIV2414")
    tree = page(http, record["links"]["html"])
    body = text_of(tree.css_first("pre.body-text")).replace("¶", "")
    header = text_of(tree.css_first("pre.header-text")).replace("¶", "")
    assert body == record["body"]
    assert header == record["header"]


def test_header_is_annotated_for_readers(http):
    record = cable_json(http, "08KYIV2414")
    tree = page(http, record["links"]["html"])
    box = tree.css_first("pre.header-text")
    titles = {text_of(a): a.attributes.get("title") for a in box.css("abbr")}
    station = record["transmission_id"].split()[0]
    assert titles[station] == ids.routing_name(station)
    assert titles["RUEHC"] == "Secretary of State"
    time_el = box.css_first("time")
    day, hhmm = record["dtg"][:2], record["dtg"][2:6]
    assert time_el.attributes["datetime"].endswith(f"-{day}T{hhmm[:2]}:{hhmm[2:]}Z")
    facts = {
        text_of(dt): text_of(dd)
        for dt, dd in zip(tree.css("dl.decoded dt"), tree.css("dl.decoded dd"), strict=True)
    }
    assert facts["Precedence"] == record["precedence"]
    assert facts["From"] == record["origin"]


def test_every_paragraph_has_a_pilcrow_link(http, site_archive):
    checked = 0
    for refid in ["08KYIV2414", *site_archive.demo_ids[:20]]:
        if refid in site_archive.embargoed:
            continue
        record = cable_json(http, refid)
        tree = page(http, record["links"]["html"])
        anchors = tree.css("pre.body-text a.par")
        numbers = [
            int(p["number"]) for p in record["paragraphs"] if str(p["number"] or "").isdigit()
        ]
        assert [a.attributes["id"] for a in anchors] == [f"par{n}" for n in numbers]
        assert all(a.attributes["href"] == "#" + a.attributes["id"] for a in anchors)
        assert all(text_of(a) == "¶" for a in anchors)
        checked += len(anchors)
    assert checked > 50


def test_tags_link_to_tag_pages_with_their_meaning(http):
    record = cable_json(http, "08KYIV2414")
    tree = page(http, record["links"]["html"])
    in_box = {text_of(a): a.attributes for a in tree.css("pre.body-text a[href^='/tag/']")}
    assert set(in_box) == set(record["tags"])
    for tag, attrs in in_box.items():
        assert attrs["href"] == f"/tag/{tag}_0.html"
        meaning = (ids.tag_info(tag) or {}).get("meaning")
        if meaning:
            assert meaning in attrs["title"]
    assert http.get(f"/tag/{record['tags'][0]}_0.html").status_code == 200


def test_references_and_cited_by_link_the_cables(http, citing_pair):
    citing, cited = citing_pair
    tree = page(http, citing["links"]["html"])
    hrefs = {a.attributes["href"] for a in tree.css("pre.body-text a")}
    assert cited["links"]["html"] in hrefs  # the REF item in the body is a link
    assert cited["links"]["html"] in {a.attributes["href"] for a in tree.css("ul.refs a")}
    cited_tree = page(http, cited["links"]["html"])
    cited_by = [a.attributes["href"] for a in cited_tree.css("#citedby-h ~ ul a")]
    assert citing["links"]["html"] in cited_by


def test_a_reference_outside_the_archive_is_marked(http, site_archive):
    for refid in site_archive.demo_ids:
        if refid in site_archive.embargoed:
            continue
        record = cable_json(http, refid)
        missing = [c["reference_id"] for c in record["cites"] if not c["in_archive"]]
        if missing:
            break
    else:
        pytest.fail("no demo cable cites a cable outside the archive")
    tree = page(http, record["links"]["html"])
    items = [text_of(li) for li in tree.css("ul.refs li")]
    assert any(missing[0] in item and "not in the archive" in item for item in items)
    assert http.get(f"/cable/{missing[0]}").status_code == 404


def test_revisions_show_an_inline_word_diff(http, site_archive):
    record = cable_json(http, "08KYIV2414")
    assert len(record["revisions"]) == 2
    tree = page(http, record["links"]["html"])
    section = text_of(tree.css_first("#rev-h").parent)
    assert "2 versions" in section
    diff = tree.css_first("details.diff pre")
    assert diff.css("ins") or diff.css("del")


def test_other_copies_and_share_links(http):
    record = cable_json(http, "08KYIV2414")
    tree = page(http, record["links"]["html"])
    hrefs = [a.attributes["href"] for a in tree.css("ul.copies a")]
    assert "https://wikileaks.org/cable/2008/12/08KYIV2414.html" in hrefs
    assert "https://wikileaks.org/plusd/cables/08KYIV2414_a.html" in hrefs
    share = text_of(tree.css_first("#share-text"))
    assert "#cablegate" in share and "#08KYIV2414" in share
    assert "/cable/2008/12/08KYIV2414.html" in share
    twitter = [
        a.attributes["href"] for a in tree.css("ul.share a") if "twitter" in a.attributes["href"]
    ]
    assert quote("#cablegate", safe="") in twitter[0]


def test_justification_links_reasons_to_their_explanation(http):
    record = cable_json(http, "08KYIV2414")
    assert record["classification_reasons"]
    tree = page(http, record["links"]["html"])
    links = tree.css(".justification a[href^='/reasons.html#']")
    assert [text_of(a) for a in links] == record["classification_reasons"]
    reasons = page(http, "/reasons.html")
    for link in links:
        anchor = link.attributes["href"].split("#", 1)[1]
        target = next((dt for dt in reasons.css("dt") if dt.attributes.get("id") == anchor), None)
        assert target is not None, anchor
        assert link.attributes["title"] in text_of(target.next)


def test_cable_short_url_redirects_and_unknown_is_404(http):
    response = http.get("/cable/08KYIV2414")
    assert response.status_code == 301
    assert response.headers["location"] == "/cable/2008/12/08KYIV2414.html"
    wrong_month = http.get("/cable/2008/01/08KYIV2414.html")
    assert wrong_month.status_code == 301
    assert http.get("/cable/2008/12/08KYIV99999999.html").status_code == 404
    assert http.get("/cable/2008/12/08KYIV99999999.json").json() == {"error": "not found"}


def test_embargoed_cable_answers_exactly_like_an_unknown_one(http, site_archive):
    assert site_archive.embargoed, "the demo archive has cables released in the future"
    secret = site_archive.embargoed[0]
    unknown = "99NOWHERE12345"
    for template in (
        "/cable/{}",
        "/cable/{}.json",
        "/cable/2007/05/{}.html",
        "/cable/2007/05/{}.json",
    ):
        a, b = http.get(template.format(secret)), http.get(template.format(unknown))
        assert a.status_code == b.status_code == 404
        assert a.headers["content-type"] == b.headers["content-type"]
        assert a.text.replace(secret, "<ID>") == b.text.replace(unknown, "<ID>")
    search = http.get("/search.json", params={"q": secret}).json()
    assert secret not in str(search["results"])


def test_json_twin_matches_the_page(http, site_archive):
    refid = next(r for r in site_archive.demo_ids if r not in site_archive.embargoed)
    record = cable_json(http, refid)
    tree = page(http, record["links"]["html"])
    assert record["reference_id"] == refid
    assert (
        tree.css_first("link[type='application/json']").attributes["href"]
        == record["links"]["json"]
    )
    assert "SYNTHETIC DEMO CABLE" in record["subject"]
    assert tree.css_first(".notice.demo") is not None


# --------------------------------------------------------------------------- browse


def test_counter_counts_released_and_all_cables(http, site_archive):
    home = http.get("/index.json").json()
    total_listed = sum(v["count"] for v in http.get("/classification/index.json").json()["values"])
    assert home["released"] == total_listed
    assert home["total"] == home["released"] + len(site_archive.embargoed)
    text = text_of(page(http, "/").css_first(".counter"))
    assert re.sub(r"\s+", " ", text) == (
        f"Currently released so far… {home['released']:,} / {home['total']:,}"
    )


def test_home_lists_latest_releases_newest_first(http):
    latest = http.get("/index.json").json()["latest"]
    released = [r["released"] for r in latest]
    assert released == sorted(released, reverse=True) and len(latest) >= 20


@pytest.mark.parametrize("kind", ["reldate", "date", "origin", "tag", "classification"])
def test_value_index_pages_link_browse_pages_with_counts(http, kind):
    data = http.get(f"/{kind}/index.json").json()
    assert data["kind"] == kind and data["values"]
    tree = page(http, f"/{kind}/index.html")
    hrefs = {a.attributes["href"] for a in tree.css("ul.values a")}
    first = data["values"][0]
    assert first["url"] in hrefs
    browse = http.get(first["url"].replace(".html", ".json")).json()
    assert browse["total"] == first["count"] and browse["value"] == first["value"]
    assert http.get(f"/{kind}/").status_code == 301


def test_browse_pagination_and_sorting(http):
    values = http.get("/tag/index.json").json()["values"]
    big = next(v for v in values if v["count"] > 60)
    first = http.get(big["url"].replace(".html", ".json")).json()
    assert first["pages"] == -(-big["count"] // 50) and len(first["results"]) == 50
    last = http.get(big["url"].replace("_0.html", f"_{first['pages'] - 1}.json")).json()
    assert len(last["results"]) == big["count"] - 50 * (first["pages"] - 1)
    seen = {r["reference_id"] for r in first["results"]} | {
        r["reference_id"] for r in last["results"]
    }
    assert len(seen) == len(first["results"]) + len(last["results"])
    beyond = big["url"].replace("_0.html", f"_{first['pages']}.html")
    assert http.get(beyond).status_code == 404
    created = [r["created"] for r in first["results"]]
    assert created == sorted(created, reverse=True)  # newest first by default
    oldest = http.get(big["url"].replace(".html", ".json"), params={"sort": "created"}).json()
    assert [r["created"] for r in oldest["results"]] == sorted(
        r["created"] for r in oldest["results"]
    )
    assert http.get(big["url"], params={"sort": "bogus"}).status_code == 400
    tree = page(http, big["url"])
    assert tree.css_first("nav.pager a[rel='next']") is not None
    assert len(tree.css("table.cables tbody tr")) == 50


def test_browse_bare_value_redirects_and_unknown_value_is_404(http):
    assert http.get("/tag/PREL").headers["location"] == "/tag/PREL_0.html"
    assert (
        http.get("/origin/Embassy_Kyiv.html").headers["location"] == "/origin/Embassy_Kyiv_0.html"
    )
    assert http.get("/tag/NO-SUCH-TAG_0.html").status_code == 404
    assert http.get("/date/2007-13_0.html").status_code == 404


# --------------------------------------------------------------------------- search


def test_search_with_facets_snippets_histogram_and_refinement(http):
    data = http.get("/search.json", params={"q": "minister"}).json()
    assert data["total"] > 20 and len(data["results"]) == 20
    assert any("<mark>" in r["snippet"].lower() for r in data["results"])
    tree = page(http, "/search?q=minister")
    assert "<mark>" in tree.css_first(".snippet").html.lower()
    svg = tree.css_first("figure.histogram svg")
    assert svg is not None and len(svg.css("rect")) == len(data["histogram"])
    facet = tree.css_first(".facets a")
    refined_url = facet.attributes["href"]
    refined = http.get(refined_url.replace("/search?", "/search.json?")).json()
    assert 0 < refined["total"] <= data["total"]
    kind = next(
        k for k, values in data["facets"].items() if any(str(v) in refined["query"] for v in values)
    )
    value = next(v for v in data["facets"][kind] if str(v) in refined["query"])
    assert refined["total"] == data["facets"][kind][value]


def test_search_pagination_has_no_cap(http):
    data = http.get("/search.json", params={"q": "the"}).json()
    last = data["pages"] - 1
    assert last >= 1
    deep = http.get("/search.json", params={"q": "the", "page": last}).json()
    assert deep["results"] and len(deep["results"]) == data["total"] - 20 * last
    assert http.get("/search", params={"q": "the", "page": last}).status_code == 200


def test_invalid_query_gets_a_clear_message(http):
    response = http.get("/search", params={"q": 'iran AND (nuclear OR "oil'})
    assert response.status_code == 400
    tree = HTMLParser(response.text)
    message = text_of(tree.css_first(".error"))
    assert "column" in message
    data = http.get("/search.json", params={"q": "(iran"}).json()
    assert data["error"]["position"] == 0 and "parenthes" in data["error"]["message"]


def test_search_echo_is_escaped(http):
    payload = '<script>alert("x")</script>'
    response = http.get("/search", params={"q": payload})
    assert payload not in response.text
    assert "&lt;script&gt;" in response.text


# --------------------------------------------------------------------------- feeds, API


def test_site_feed_is_atom_of_latest_releases(http):
    response = http.get("/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    latest = http.get("/index.json").json()["latest"]
    assert len(entries) == 50
    first = urlsplit(entries[0].find(f"{ATOM}link").attrib["href"]).path
    assert first == latest[0]["url"]
    assert http.get(first).status_code == 200


@pytest.mark.parametrize("kind", ["origin", "tag"])
def test_feeds_per_origin_and_tag(http, kind):
    value = http.get(f"/{kind}/index.json").json()["values"][0]
    feed_path = value["url"].replace("_0.html", ".atom")
    root = ET.fromstring(http.get(feed_path).content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == min(50, value["count"])
    for entry in entries[:5]:
        refid = entry.find(f"{ATOM}title").text.split(":")[0]
        record = cable_json(http, refid)
        assert value["value"] in (record["tags"] if kind == "tag" else [record["origin"]])
    tree = page(http, value["url"])
    assert tree.css_first(f"link[type='application/atom+xml'][href='{feed_path}']") is not None


def test_openapi_documents_the_json_api_and_cors(http):
    spec = http.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/cable/{year}/{month}/{refid}.json",
        "/search.json",
        "/index.json",
        "/tag/{name}.json",
        "/origin/index.json",
    ):
        assert path in paths, path
    assert "Cable" in spec["components"]["schemas"]
    assert http.get("/api/docs").status_code == 200
    cors = http.get("/index.json", headers={"Origin": "https://elsewhere.example"})
    assert cors.headers["access-control-allow-origin"] == "*"


def test_static_assets_and_about(http):
    assert http.get("/static/cables.css").status_code == 200
    tree = page(http, "/about.html")
    assert "synthetic" in text_of(tree.css_first("main")).lower()
