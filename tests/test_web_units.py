"""The site's pure parts: URLs, the cable boxes' annotation, the word diff, the
histogram SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from cablegate.web import cabletext
from cablegate.web import url_builder as urls
from cablegate.web.histogram import histogram_svg


def test_urls_follow_the_original_scheme():
    assert urls.cable_path("07MOSCOW2205", "2007-05-14T03:19") == "/cable/2007/05/07MOSCOW2205.html"
    assert urls.cable_path("07MOSCOW2205", "2007-05-14 03:19", "json").endswith("2205.json")
    assert urls.cable_year_month(None, "66BUENOSAIRES2481") == ("1966", "00")
    assert urls.browse_path("tag", "PGOV") == "/tag/PGOV_0.html"
    assert urls.browse_path("origin", "Embassy Moscow", 2) == "/origin/Embassy_Moscow_2.html"
    assert urls.browse_path("classification", "SECRET//NOFORN") == \
        "/classification/SECRET_NOFORN_0.html"
    assert urls.split_page("Embassy_Moscow_12") == ("Embassy_Moscow", 12)
    assert urls.split_page("PGOV") is None
    assert urls.wikileaks_cable_url("07MOSCOW2205", "2007-05-14") == \
        "https://wikileaks.org/cable/2007/05/07MOSCOW2205.html"
    assert urls.plusd_url("07MOSCOW2205") == "https://wikileaks.org/plusd/cables/07MOSCOW2205_a.html"
    assert urls.feed_path("tag", "PGOV") == "/tag/PGOV.atom"
    slugs = urls.SlugMap(["Embassy Moscow", "SECRET//NOFORN"])
    assert slugs.value("Embassy_Moscow") == "Embassy Moscow"
    assert slugs.value("SECRET_NOFORN") == "SECRET//NOFORN"


BODY = """C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205

E.O. 12958: DECL: 05/11/2017
TAGS: PREL PGOV RS
SUBJECT: <SCRIPT> & "QUOTES"

REF: A. MOSCOW 1234 B. 06 STATE 5678

1. (C) Summary. In 1993 the figures were
1993 lower. End summary.
2. (S/NF) Second paragraph.
MOSCOW 00002205  002 OF 002
3. (U) Third.
"""
RECORD = {"reference_id": "07MOSCOW2205", "tags": ["PREL", "PGOV", "RS"],
          "paragraphs": [{"number": "1"}, {"number": "2"}, {"number": "3"}]}


def render_body() -> str:
    def tag_link(tag):
        return f"/tag/{tag}_0.html", f"meaning of {tag}"

    def ref_link(refid):
        return (f"/cable/{refid}", refid) if refid == "07MOSCOW1234" else ("", "not in the archive")

    return str(cabletext.render_body(BODY, RECORD, tag_link, ref_link))


def test_body_box_escapes_the_text_and_keeps_every_character():
    html = render_body()
    assert "<SCRIPT>" not in html and "&lt;SCRIPT&gt;" in html
    text = ET.fromstring(f"<pre>{html}</pre>")
    assert "".join(text.itertext()).replace("¶", "") == BODY


def test_pilcrow_links_only_on_the_record_paragraphs():
    html = render_body()
    for n in (1, 2, 3):
        assert f'<a id="par{n}" href="#par{n}" class="par">¶</a>{n}.' in html
    assert 'id="par1993"' not in html  # a line starting with a year is not a paragraph
    assert '<abbr title="Secret, NOFORN" class="mark">(S/NF)</abbr>' in html


def test_tags_and_references_are_linked():
    html = render_body()
    assert '<a href="/tag/PREL_0.html" title="meaning of PREL">PREL</a>' in html
    assert '<a href="/cable/07MOSCOW1234" title="07MOSCOW1234">MOSCOW 1234</a>' in html
    assert '<span class="missing" title="not in the archive">06 STATE 5678</span>' in html


def test_header_annotations():
    header = "DE RUEHMO #2205/01 1340319\nZNY CCCCC ZZH\nO 140319Z MAY 07\nFM AMEMBASSY MOSCOW\n" \
             "TO RUEHC/SECSTATE WASHDC IMMEDIATE 8524"
    html = str(cabletext.render_header(header))
    assert '<abbr title="Embassy Moscow" class="ri">RUEHMO</abbr>' in html
    assert '<abbr title="IMMEDIATE">O</abbr>' in html
    assert '<time datetime="2007-05-14T03:19Z"' in html
    assert '<abbr title="Secretary of State" class="ri">RUEHC</abbr>' in html
    assert cabletext.dtg_datetime("140319Z MAY 07").isoformat() == "2007-05-14T03:19:00"


words = st.lists(st.sampled_from(["alpha", "beta", "XXXX", "1.", "(C)", " ", "\n", "  "]),
                 max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_word_diff_spells_both_texts(old, new):
    pieces = cabletext.word_diff(old, new)
    assert "".join(t for op, t in pieces if op != "insert") == old
    assert "".join(t for op, t in pieces if op != "delete") == new
    assert all(op in ("equal", "insert", "delete") and t for op, t in pieces)


def test_histogram_svg_has_a_bar_per_month_with_cables():
    svg = histogram_svg({"2007-01": 3, "2007-04": 1, "2008-02": 7}, 'iran "x"')
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bars = root.findall(f"{ns}rect")
    assert len(bars) == 3
    assert [b.find(f"{ns}title").text for b in bars] == ["2007-01: 3", "2007-04: 1", "2008-02: 7"]
    heights = [float(b.attrib["height"]) for b in bars]
    assert heights[2] == max(heights) and heights[1] == min(heights)
    assert histogram_svg({}, "x") == ""
