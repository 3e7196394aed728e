"""The format readers on the real corpus (../shared/corpus): every file, hand-checked examples,
and the same cable across snapshots and formats."""

from __future__ import annotations

import csv
import html
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from cablegate.errors import ParseError
from cablegate.formats import _common, cables_csv, jsonl, raw_from_text, read_inputs
from cablegate.formats import plaintext as plaintext_reader
from cablegate.record import FIELDS, RawCable, empty_record

HTML_0411 = "cablegate_html/2011-04_avilaroman/cable"
HTML_1012 = "cablegate_html/2010-12_chillicoder/cable"
HTML_FINAL = "cablegate_html/2011-08_final_markchips/cable"

# SOURCES.md: the 28 cables whose text differs between the 2010-12 and 2011-04 snapshots.
CHANGED_BETWEEN_SNAPSHOTS = set(
    "04RANGOON1100 05SOFIA1207 08KYIV2414 08LONDON1991 08OTTAWA918 08PARIS1698 08RANGOON749 "
    "08STATE93970 08USNATO453 09ABUJA259 09BAKU687 09BERLIN1162 09CAIRO746 09CAIRO874 "
    "09ISLAMABAD10 09LONDON2005 09LONDON2222 09PARIS1039 09SAOPAULO653 09STATE124636 "
    "09STATE15113 09STATE68250 09TRIPOLI1025 10ASTANA72 10ISLAMABAD428 10MADRID49 10ROME1 "
    "10TRIPOLI95".split()
)
# Two pages of the 2011-04 mirror are stale pages of a December 2010 build: they load
# js.js and show the "926 / 251,287" counter, so they are read as the 2010-12 layout.
STALE_2010_LAYOUT_IN_0411 = {
    f"{HTML_0411}/2009/09/09PARIS1254.html",
    f"{HTML_0411}/2009/12/09CONAKRY797.html",
}


def one(path: Path) -> RawCable:
    items = list(read_inputs([path]))
    assert len(items) == 1, items
    assert isinstance(items[0], RawCable), items[0]
    return items[0]


@pytest.fixture(scope="module")
def manifest(corpus: Path) -> dict[str, dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="module")
def everything(corpus: Path) -> list[RawCable | ParseError]:
    return list(read_inputs([corpus]))


def by_stem(items: list, folder: str) -> dict[str, RawCable]:
    out = {}
    for item in items:
        if folder in item.source["path"]:
            out[Path(item.source["path"]).name.split(".")[0]] = item
    return out


# --------------------------------------------------------------------------- whole corpus


def test_every_corpus_file_reads_without_error(corpus, manifest, everything):
    errors = [item for item in everything if isinstance(item, ParseError)]
    assert errors == []
    per_file = Counter(os.path.relpath(item.source["path"], corpus) for item in everything)
    assert set(per_file) == set(manifest)  # MANIFEST.tsv and SOURCES.md are skipped
    assert len(manifest) == 2019
    assert per_file["cables_csv/cables_sample.csv"] == 2
    assert all(n == 1 for name, n in per_file.items() if not name.endswith(".csv"))
    assert len(everything) == 2020


def test_format_ids_detected_from_content(corpus, manifest, everything):
    wrong = {}
    for item in everything:
        rel = os.path.relpath(item.source["path"], corpus)
        if item.source["format"] != manifest[rel]["format"]:
            wrong[rel] = item.source["format"]
    assert wrong == {rel: "cablegate-html-2010-12" for rel in STALE_2010_LAYOUT_IN_0411}
    for rel in STALE_2010_LAYOUT_IN_0411:
        page = (corpus / rel).read_text(encoding="utf-8")
        assert "/static/js/js.js" in page and "released so far... 926 /" in page


def test_detection_ignores_file_names(corpus, tmp_path):
    page = tmp_path / "notes.txt"  # a Cablegate page under a misleading name
    page.write_bytes((corpus / HTML_0411 / "2008/05/08BEIJING2087.html").read_bytes())
    assert one(page).source["format"] == "cablegate-html-2011-04"
    csv_copy = tmp_path / "cable.html"
    csv_copy.write_bytes((corpus / "cables_csv/cables_sample.csv").read_bytes())
    assert [r.source["format"] for r in read_inputs([csv_copy])] == ["cables-csv"] * 2


def test_html_pages_have_no_markup_left(everything):
    for item in everything:
        if item.source["format"].startswith("cablegate-html"):
            for text in (item.header or "", item.body or ""):
                assert "&#x000A;" not in text
                assert "<a id='par" not in text and "<a href='/tag/" not in text
                assert "¶" not in text


def test_classification_is_the_link_text_not_the_title(everything):
    counts = Counter(
        item.meta["classification"]
        for item in everything
        if "2011-04_avilaroman" in item.source["path"]
    )
    # SOURCES.md: the link-text counts of the 2011-04 folder
    assert counts == {
        "CONFIDENTIAL": 723,
        "UNCLASSIFIED//FOR OFFICIAL USE ONLY": 279,
        "UNCLASSIFIED": 205,
        "SECRET": 183,
        "SECRET//NOFORN": 125,
        "CONFIDENTIAL//NOFORN": 86,
    }


def test_media_rows_and_partial_notices_counted(everything):
    html_0411 = [i for i in everything if "2011-04_avilaroman" in i.source["path"]]
    with_media = [i for i in html_0411 if "media_urls" in i.meta]
    assert len(with_media) == 431  # SOURCES.md
    for item in with_media:
        assert item.meta["media_urls"]
        for url in item.meta["media_urls"]:
            assert url.startswith("http") and not url.startswith("http://http")
            assert url == "".join(url.split())
    warned = {Path(i.source["path"]).stem: i.warnings for i in html_0411 if i.warnings}
    assert set(warned) == {"05TELAVIV1593", "05TELAVIV4107", "06TELAVIV145", "08STATE86156"}
    assert warned["06TELAVIV145"] == [
        "media links that are not URLs (kept as published): Yedioth Ahronot only goes out in print"
    ]
    partial_0411 = [i for i in html_0411 if i.meta.get("partial")]
    assert len(partial_0411) == 168  # SOURCES.md
    for item in partial_0411:
        assert "partial extract" not in (item.header or "")


# --------------------------------------------------------------------------- Cablegate pages


def test_html_header_body_and_meta_hand_checked(corpus):
    raw = one(corpus / HTML_0411 / "2008/05/08BEIJING2087.html")
    assert raw.source == {
        "path": str(corpus / HTML_0411 / "2008/05/08BEIJING2087.html"),
        "format": "cablegate-html-2011-04",
        "row": None,
    }
    assert raw.meta == {
        "reference_id": "08BEIJING2087",
        "created": "2008-05-29T10:10",
        "released": "2011-02-02T21:09",
        "classification": "CONFIDENTIAL",  # the title attribute says 'unclassified'
        "origin": "Embassy Beijing",
    }
    assert raw.header == (
        "VZCZCXRO5793\nOO RUEHCN RUEHGH RUEHVC\nDE RUEHBJ #2087/01 1501045\nZNY CCCCC ZZH\n"
        "O 291045Z MAY 08\nFM AMEMBASSY BEIJING\nTO RUEHC/SECSTATE WASHDC IMMEDIATE 7613\n"
        "INFO RUEHOO/CHINA POSTS COLLECTIVE"
    )
    assert raw.body.startswith(
        "C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087\n\nSIPDIS\n\n"
        "E.O. 12958: DECL: 05/29/2018\n\nTAGS: PREL PTER PARM PGOV CH\n\n"
        "SUBJECT: SCENESETTER FOR JUNE 4 SECURITY DIALOGUE \n\n"
        "Classified By: Political Minister Counselor Aubrey Carlson. Reasons\n\n"
        "1.4 (b) and (d).\n\n1.(C) The U.S.-China Strategic Security Dialogue"
    )
    assert raw.warnings == []


def test_html_media_urls_undo_the_doubled_scheme(corpus):
    raw = one(corpus / HTML_0411 / "1997/12/97WELLINGTON1656.html")
    assert raw.meta["media_urls"] == [
        "http://liberation.typepad.com/files/wellington-us-embassy-cables---bryce-edwards.pdf"
    ]
    assert raw.body.endswith("COALITION THAT ADDRESSES IMPORTANT DOMESTIC ISSUES.\n\nBEEMAN")
    # CRLF-terminated media lines
    raw = one(corpus / HTML_0411 / "2006/03/06SANJOSE707.html")
    assert len(raw.meta["media_urls"]) == 7
    assert raw.meta["media_urls"][0] == (
        "http://www.nacion.com/2011-03-03/Investigacion/NotasDestacadas/Investigacion2697430.aspx"
    )
    assert "for reasons 1.4 (b) & (d)" in raw.body  # raw '&' kept
    # a bare host: the site's link target
    raw = one(corpus / HTML_0411 / "2009/11/09SANAA2040.html")
    assert raw.meta["media_urls"] == ["http://www.spiegel.de"]


def test_html_partial_notice_removed_and_flagged(corpus):
    raw = one(corpus / HTML_0411 / "2005/10/05BRASILIA2767.html")
    assert raw.meta["partial"] is True
    assert raw.header == "171835Z Oct 05"
    assert raw.body.startswith("C O N F I D E N T I A L BRASILIA 002767 \n\nSIPDIS")
    raw = one(corpus / HTML_0411 / "2005/06/05BOGOTA6237.html")
    assert raw.meta["partial"] is True and raw.header is None  # the notice was all of it
    raw = one(corpus / HTML_1012 / "2000/11/00HARARE6677.html")
    assert raw.header.startswith("291359Z Nov 00\n\n\n                           CONFIDENTIAL")
    assert one(corpus / HTML_0411 / "2008/05/08BEIJING2087.html").meta.get("partial") is None


def test_html_false_anchors_removed_restoring_the_text(corpus):
    raw = one(corpus / HTML_0411 / "2006/03/06SANJOSE591.html")
    assert "nurse her infant son, Jose Maria, who was born in \n1996.  Her leisure" in raw.body


def test_html_text_that_looks_like_markup_is_kept(corpus):
    raw = one(corpus / HTML_0411 / "2009/01/09LAPAZ96.html")
    assert "recognizing that their unpopular association with <br>\nthe &old regimes8" in raw.body
    assert raw.body.count("<br>") == 402


def test_html_layouts(corpus):
    final = one(corpus / HTML_FINAL / "1975/11/7575LIBREVILLE1895.html")
    assert final.source["format"] == "cablegate-html-2011-08-final"
    assert final.meta["reference_id"] == "7575LIBREVILLE1895"  # as published
    assert final.body.startswith("C O N F I D E N T I A L 75 LIBREVILLE 1895 \nE.O. 11652: NGDS")
    old = one(corpus / HTML_1012 / "1966/12/66BUENOSAIRES2481.html")
    assert old.source["format"] == "cablegate-html-2010-12"
    assert old.meta["classification"] == "UNCLASSIFIED"
    assert old.header.endswith("AMEMBASSY LONDON\nSTATE GRNC")


def test_same_cable_in_two_snapshots(everything):
    old = by_stem(everything, "2010-12_chillicoder")
    new = by_stem(everything, "2011-04_avilaroman")
    assert len(old) == 334 and set(old) <= set(new)
    changed = {ref for ref in old if old[ref].body != new[ref].body}
    assert changed == CHANGED_BETWEEN_SNAPSHOTS
    assert all(old[ref].header == new[ref].header for ref in old)
    assert all(old[ref].meta["reference_id"] == new[ref].meta["reference_id"] for ref in old)


def test_final_layout_repeats_match_the_2011_04_pages(everything):
    final = by_stem(everything, "2011-08_final_markchips")
    new = by_stem(everything, "2011-04_avilaroman")
    repeats = sorted(set(final) & set(new))
    assert repeats == ["66BUENOSAIRES2481", "72TEHRAN1164", "72TEHRAN5055", "73TEHRAN2077",
                       "75TEHRAN2069"]
    for ref in repeats:
        if ref == "72TEHRAN5055":
            # re-released with blank lines written as " ": whitespace-only difference
            assert final[ref].body != new[ref].body
            assert final[ref].body.split() == new[ref].body.split()
        else:
            assert final[ref].body == new[ref].body


# --------------------------------------------------------------------------- text formats


def test_reveal_bodies_equal_the_html_bodies(everything):
    reveal = by_stem(everything, "txt_reveal")
    html = by_stem(everything, "2011-04_avilaroman")
    assert len(reveal) == 60
    for ref, raw in reveal.items():
        assert raw.source["format"] == "reveal-body-txt"
        assert raw.header is None
        assert raw.meta["reference_id_hint"] == ref
        assert raw.body == html[ref].body, ref


def test_alx_preamble_and_glued_split_point(corpus):
    raw = one(corpus / "txt_alx/89ANKARA17365.txt")
    assert raw.source["format"] == "alx-txt"
    assert raw.meta == {
        "reference_id": "89ANKARA17365",
        "classification": "UNCLASSIFIED",
        "origin": "Embassy Ankara",
        "created_date": "1989-12-06",
        "subject": "TURKEY: 1989 ANNUAL TERRORISM REPORT",
    }
    assert raw.header == (
        "R 061423Z DEC 89\nFM AMEMBASSY ANKARA\nTO SECSTATE WASHDC 9990\nINFO AMCONSUL ADANA\n"
        "AMCONSUL ISTANBUL\nAMCONSUL IZMIR"
    )
    assert raw.body.startswith("UNCLAS SECTION 01 OF 02 ANKARA 17365 \n \nDEPARTMENT ALSO FOR")
    assert "\n1.  NAME OF COUNTRY: TURKEY" in raw.body  # the "¶" before 1. is gone
    assert raw.body.endswith("ABRAMOWITZ")
    assert raw.warnings == []


def test_alx_partial_extract_without_header(corpus):
    raw = one(corpus / "txt_alx/02HARARE2246.txt")
    assert raw.meta["partial"] is True
    assert raw.meta["classification"] == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    assert raw.header is None
    assert raw.body.startswith("UNCLAS HARARE 002246 \n \nSIPDIS")
    assert "\nE. O. 12958: N/A \n" in raw.body and "¶" not in raw.body
    assert raw.body.endswith("Sullivan")


def test_alx_header_only_stubs_are_cables(corpus, everything):
    raw = one(corpus / "txt_alx/01VATICAN1261.txt")
    assert (raw.header, raw.body) == (None, None)
    assert raw.meta == {
        "reference_id": "01VATICAN1261",
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Vatican",
        "created_date": "2001-03-06",
        "subject": "DROC--VATICAN DEMARCHE",
    }
    html = by_stem(everything, "2011-04_avilaroman")
    for ref in ("01VATICAN1261", "01VATICAN5693"):
        stub = one(corpus / f"txt_alx/{ref}.txt")
        for key in ("reference_id", "classification", "origin"):
            assert stub.meta[key] == html[ref].meta[key]
        assert html[ref].meta["created"].startswith(stub.meta["created_date"])


def test_seed_repost(seed_page):
    raw = one(seed_page)
    assert raw.source["format"] == "repost"
    assert raw.meta == {
        "reference_id": "07MOSCOW2205",
        "created": "2007-05-14T03:19",
        "released": "2011-08-30T01:44",
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Moscow",
    }
    assert raw.header == "DE RUEHMO #2205/01 1340319\nO 140319Z MAY 07"
    assert raw.body.startswith(
        "C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205 \n"
        "E.O. 12958: DECL: 05/11/2017 \n"
        "Classified By: Ambassador William J. Burns.  Reasons 1,4 (B/D). \n"
        "1.  (C) Summary.  In a May 10 meeting"
    )
    assert raw.body.endswith('"test the mood" in Teheran on Russian-Iranian bilateral')
    assert "MOSCOW 00002205  002 OF 002 \n6.  (C)" in raw.body
    assert "Leave a Reply" not in raw.body and "WikiLeaks Link" not in raw.body


def test_repost_saved_as_html(seed_page, tmp_path):
    """The same re-post as a blog's HTML (table cells, <pre>, scripts): the same cable."""
    seed = seed_page.read_text(encoding="utf-8")
    cable = seed[seed.index("DE RUEHMO") : seed.index("Post a comment")]
    page = tmp_path / "post.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script>var s = '<p>Reference ID';</script></head><body>"
        "<p>WikiLeaks Link</p><table><tr><th>Reference ID</th><th>Created</th><th>Released</th>"
        "<th>Classification</th><th>Origin</th></tr><tr><td>07MOSCOW2205</td>"
        "<td>2007-05-14 03:19</td><td>2011-08-30 01:44</td><td>CONFIDENTIAL</td>"
        "<td>Embassy Moscow</td></tr></table><pre>" + html.escape(cable) + "</pre>"
        "<p>Post a comment or leave a trackback: Trackback URL.</p></body></html>",
        encoding="utf-8",
    )
    from_html, from_text = one(page), one(seed_page)
    assert from_html.source["format"] == "repost"
    assert from_html.meta == from_text.meta
    assert (from_html.header, from_html.body) == (from_text.header, from_text.body)


def test_plain_text_split_at_the_classification_line(tmp_path):
    text = (
        "VZCZCXRO5793\nDE RUEHBJ #2087/01 1501045\nO 291045Z MAY 08\nFM AMEMBASSY BEIJING\n"
        "TO RUEHC/SECSTATE WASHDC IMMEDIATE 7613\n"
        "C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087\n\nSIPDIS\n\n"
        "SUBJECT: SCENESETTER\n\n1. (C) Text.\n"
    )
    path = tmp_path / "08BEIJING2087.txt"
    path.write_text(text, encoding="utf-8")
    raw = one(path)
    assert raw.source["format"] == "text"
    assert raw.meta == {"reference_id_hint": "08BEIJING2087"}
    assert raw.header == (
        "VZCZCXRO5793\nDE RUEHBJ #2087/01 1501045\nO 291045Z MAY 08\nFM AMEMBASSY BEIJING\n"
        "TO RUEHC/SECSTATE WASHDC IMMEDIATE 7613"
    )
    assert raw.body == (
        "C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087\n\nSIPDIS\n\n"
        "SUBJECT: SCENESETTER\n\n1. (C) Text."
    )
    # CRLF files read the same; a name that is not a reference ID gives no hint
    crlf = tmp_path / "cable.txt"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    raw2 = one(crlf)
    assert (raw2.header, raw2.body) == (raw.header, raw.body)
    assert "reference_id_hint" not in raw2.meta


def test_text_splitter_recovers_the_html_split(everything):
    """Joining a page's two <pre> texts and splitting them again gives them back.

    Locks the splitter's coverage: the pages it misses have bodies that do not
    open with their classification line (a date line, a pasted cables.csv
    record, a banner broken over two lines ...).
    """
    html = by_stem(everything, "2011-04_avilaroman")
    tried = recovered = 0
    for ref, raw in html.items():
        if not raw.header or not raw.body:
            continue
        tried += 1
        got = plaintext_reader.read_text(raw.header + "\n" + raw.body, f"{ref}.txt")
        recovered += (got.header, got.body) == (raw.header.strip("\n"), raw.body.rstrip())
    assert tried == 1445
    assert recovered >= 1336


def test_header_only_text_is_all_header(corpus):
    raw = one(corpus / "pdf/00DAMASCUS3013.pdf")
    assert raw.body is None and raw.warnings == []
    assert raw.header.startswith("O 131830Z JUN 00\nFM AMEMBASSY DAMASCUS")


# --------------------------------------------------------------------------- PDF, PlusD


def test_pdf_text_layer(corpus):
    raw = one(corpus / "pdf/00ATHENS1937.pdf")
    assert raw.source["format"] == "wikileaks-cable-pdf"
    assert raw.meta == {"reference_id_hint": "00ATHENS1937"}
    assert raw.header == "O 210712Z APR 00\nFM AMEMBASSY ATHENS\nTO SECSTATE WASHDC IMMEDIATE 7661"
    assert raw.body.startswith("C O N F I D E N T I A L SECTION 01 OF 02 ATHENS 001937 \n")
    assert raw.body.endswith("BURNS")
    raw = one(corpus / "pdf/00ANKARA8112.pdf")
    assert "--------\nOVERVIEW\n--------\n1. (U) COMBATTING TERRORISM" in raw.body  # ¶ line gone
    raw = one(corpus / "pdf/00HANOI686.pdf")
    assert raw.meta["partial"] is True
    assert raw.header.startswith("2000HANOI00686 - CONFIDENTIAL\n")
    assert raw.body.startswith("C O N F I D E N T I A L SECTION 01 OF 07 HANOI 000686")


def test_plusd_panes(corpus):
    raw = one(corpus / "plusd_1973_1979/1974ATHENS02959_b.html")
    assert raw.source["format"] == "plusd-html"
    plusd = raw.meta.pop("plusd")
    assert raw.meta == {
        "reference_id": "1974ATHENS02959",
        "classification": "LIMITED OFFICIAL USE",
        "subject": "ARRESTS OF KALOUDIS AND AMBATIELOS",
        "tags": ["PINS", "GR", "(KALOUDIS, NICK)", "(AMBATIELOS, ANTHONY)"],
        "created_date": "1974-05-17",
    }
    assert plusd["Concepts"] == "WELFARE & WHEREABOUTS, PRISONERS, CONCENTRATION CAMPS, YIAROS"
    assert plusd["Film Number"] == "D740123-0751"
    assert plusd["Current Classification"] == "UNCLASSIFIED"
    assert "Drafter" not in plusd  # n/a
    assert raw.header.startswith("LIMITED OFFICIAL USE\n\nPAGE 01  ATHENS 02959  171944Z")
    assert raw.header.endswith("R 171600Z MAY 74\nFM AMEMBASSY ATHENS\nTO SECSTATE WASHDC 3410\n"
                               "INFO AMEMBASSY LONDON\nAMEMBASSY CANBERRA\nAMCONSUL THESSALONIKI")
    assert raw.body.startswith(
        "LIMITED OFFICIAL USE ATHENS 2959\n\nE.O. 11652: N/A\nTAGS: PINS, GR"
    )
    assert raw.body.endswith("TASCA\n\n\nLIMITED OFFICIAL USE\n\n\n\n\nNNN")
    other = one(corpus / "plusd_1973_1979/1973STATE097844_b.html")
    assert other.meta["tags"] == ["SPOP", "IT"]  # published as "SPOP, IT, SPOP"
    assert other.meta["plusd"]["To"] == "LUXEMBOURG\nROME"  # YAML-folded value


# --------------------------------------------------------------------------- cables.csv


def test_csv_rows(corpus, everything):
    rows = list(read_inputs([corpus / "cables_csv/cables_sample.csv"]))
    assert [r.source["row"] for r in rows] == [1, 2]
    first, second = rows
    assert first.meta == {
        "reference_id": "66BUENOSAIRES2481",
        "origin": "Embassy Buenos Aires",
        "classification": "UNCLASSIFIED",
        "references_csv": ["66STATE106206"],
        "csv_id": "1",
        "created": "1966-12-28T18:48",
    }
    assert second.meta["references_csv"] == ["72MOSCOW1603", "72TEHRAN1091", "72TEHRAN263"]
    assert second.meta["created"] == "1972-02-25T09:30"  # from "2/25/1972 9:30"
    assert second.header == (
        "R 250930Z FEB 72 \nFM AMEMBASSY TEHRAN\nTO SECSTATE WASHDC 7561 \nINFO SECDEF\n"
        "EUCOM\nCSAF"
    )
    # backslash escapes: \" and \'
    assert 'OF "PREFERENTIAL JURISDICTION" FOR FISHING PURPOSES' in first.body
    assert "\\" not in first.body + second.body
    assert "'" in first.body + second.body
    # against the site: only the TAGS line differs (the site rebuilt it from its tag links)
    html = by_stem(everything, "2011-08_final_markchips")
    for row in rows:
        page = html[row.meta["reference_id"]]
        assert row.header == page.header
        lines, page_lines = row.body.split("\n"), page.body.split("\n")
        assert len(lines) == len(page_lines)
        diff = [(a, b) for a, b in zip(lines, page_lines, strict=True) if a != b]
        assert len(diff) == 1 and diff[0][0].startswith("TAGS: ") and diff[0][1].startswith("TAGS:")


def test_csv_framing_is_independent_of_chunk_boundaries(corpus):
    data = (corpus / "cables_csv/cables_sample.csv").read_bytes()
    whole = list(cables_csv.read([data], "x.csv"))
    for size in (1, 7, 100, 4096):
        pieces = [data[i : i + size] for i in range(0, len(data), size)]
        parts = list(cables_csv.read(pieces, "x.csv"))
        assert [(p.header, p.body, p.meta, p.source) for p in parts] == [
            (w.header, w.body, w.meta, w.source) for w in whole
        ]
        # (row, first line, bytes): a record spanning many chunks is gathered whole
        assert list(cables_csv.frame_records(pieces)) == list(cables_csv.frame_records([data]))


# --------------------------------------------------------------------------- JSON Lines, text


def _record(ref: str) -> dict:
    record = empty_record()
    record.update(reference_id=ref, header="H", body="B", tags=["PGOV"],
                  paragraphs=[{"number": 1, "marking": "C", "text": "x"}],
                  source={"path": "a.html", "format": "text", "row": None})
    return record


def test_jsonl_round_trip(tmp_path):
    records = [_record("07MOSCOW2205"), _record("08MADRID552")]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    raws = list(read_inputs([path]))
    assert [r.record for r in raws] == records
    assert [r.source for r in raws] == [
        {"path": str(path), "format": "jsonl", "row": 1},
        {"path": str(path), "format": "jsonl", "row": 2},
    ]
    assert list(raws[0].record) == list(FIELDS)


def test_jsonl_contract_checks():
    good = _record("07MOSCOW2205")
    assert jsonl.check_record(good) == good
    for broken, reason in (
        ({k: v for k, v in good.items() if k != "body"}, "missing record keys: body"),
        ({**good, "extra": 1}, "unknown record keys: extra"),
        ({**good, "tags": "PGOV"}, "tags is a str, expected list"),
        ({**good, "partial": 0}, "partial is a int, expected bool"),
        ({**good, "tags": [1]}, "tags holds a int, expected str"),
        ({**good, "paragraphs": ["x"]}, "paragraphs holds a str, expected dict"),
        ([good], "a JSON list, not an object"),
    ):
        with pytest.raises(ValueError, match=reason):
            jsonl.check_record(broken)


def test_raw_from_text_detects_every_single_cable_format(corpus, seed_page):
    for rel, fmt in (
        (f"{HTML_0411}/2008/05/08BEIJING2087.html", "cablegate-html-2011-04"),
        ("txt_alx/89ANKARA17365.txt", "alx-txt"),
        ("txt_reveal/05BRASILIA2339.txt", "reveal-body-txt"),
        ("plusd_1973_1979/1974ATHENS02959_b.html", "plusd-html"),
    ):
        path = corpus / rel
        from_text = raw_from_text(path.read_text(encoding="utf-8"), "<text>")
        from_file = one(path)
        assert from_text.source["format"] == fmt
        assert (from_text.header, from_text.body) == (from_file.header, from_file.body)
    assert raw_from_text(seed_page.read_text(encoding="utf-8"), "<text>").source["format"] == (
        "repost"
    )
    raw = raw_from_text("R 061423Z DEC 89\nFM AMEMBASSY ANKARA\n", "<text>", "89ANKARA17365")
    assert raw.meta["reference_id_hint"] == "89ANKARA17365"
    with pytest.raises(ParseError, match="holds 2 cables"):
        raw_from_text((corpus / "cables_csv/cables_sample.csv").read_text(), "<text>")


def test_partial_notice_helper():
    text = _common.PARTIAL_NOTICE + "UNCLAS HARARE 002246"
    assert _common.take_partial_notice(text) == ("UNCLAS HARARE 002246", True)
    assert _common.take_partial_notice("UNCLAS X 1") == ("UNCLAS X 1", False)
    assert _common.refid_hint_from_path("/a/1974ATHENS02959_b.html") == "1974ATHENS02959"
    assert _common.refid_hint_from_path("/a/notes.txt") is None
    assert _common.unescape_entities("AT&T &amp; &not &#x41;") == "AT&T & &not A"
