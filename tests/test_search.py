"""The search index on real cables: totals, order, phrases, boolean logic, prefixes,
filters, facets, histogram, snippets, redactions, accents, pagination, errors and
release gating; then the same through the archive on SQLite and PostgreSQL.

Expected answers are computed independently in Python (regex tokenizing of the
records), never by asking the index.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablegate.parse import parse_path
from cablegate.query import QuerySyntaxError
from cablegate.record import empty_record
from cablegate.search import (
    META_FILE,
    SearchIndex,
    SearchIndexError,
    SearchResult,
    document_from_record,
    mask_redactions,
)

FAR_FUTURE = datetime(2200, 1, 1)
TEXT_FIELDS = ("subject", "header", "body")


# --------------------------------------------------------------------------- fixtures


def _record(refid: str, body: str, **fields) -> dict:
    record = empty_record()
    record.update(
        reference_id=refid,
        body=body,
        header=fields.pop("header", f"R 010000Z JAN 09\nFM AMEMBASSY TESTPOST {refid}"),
        subject=fields.pop("subject", f"TEST CABLE {refid}"),
        created=fields.pop("created", "2009-01-15T10:00"),
        released=fields.pop("released", "2010-12-06T12:12"),
        classification=fields.pop("classification", "UNCLASSIFIED"),
        origin=fields.pop("origin", "Embassy Testpost"),
        origin_code=fields.pop("origin_code", "TESTPOST"),
        tags=fields.pop("tags", ["PREL"]),
    )
    record.update(fields)
    return record


SPECIAL = [
    _record(
        "99TESTPOST1", "The cable quotes <script>alert('pwned')</script> & zanzibarian <b>tags</b>."
    ),
    _record(
        "99TESTPOST2",
        "Meeting at the Café Zürichberg with Sãoquxo delegates from Ærøskøbing.",
        subject="RÉUNION À GENÈVE",
        origin="Consulate Québecqux",
        origin_code="QUEBECQUX",
    ),
    _record(
        "99TESTPOST3",
        "The quxminister met XXXXXXXXXXXX yesterday and spoke toXXXXXXXXXXXX today; "
        "XXXXXXXXXXXXtold us about qux.",
    ),
]
# Scheduled for a release far in the future: must be invisible until then.
EMBARGOED = _record(
    "99TESTPOST4",
    "embargoedmarker text about nuclear matters",
    subject="EMBARGOED NUCLEAR",
    origin="Embassy Nowhere",
    origin_code="NOWHERE",
    tags=["ZZEMBARGO"],
    created="1999-02-03T04:05",
    classification="TOP SECRET",
)


@pytest.fixture(scope="module")
def corpus_records(corpus: Path) -> list[dict]:
    """A spread of real cables (every 3rd page of the 2011-04 snapshot)."""
    files = sorted((corpus / "cablegate_html" / "2011-04_avilaroman").rglob("*.html"))[::3]
    records: dict[str, dict] = {}
    for path in files:
        for record in parse_path(path):
            records[record["reference_id"]] = record
    assert len(records) > 400
    return list(records.values())


@pytest.fixture(scope="module")
def records(corpus_records: list[dict]) -> list[dict]:
    """Everything visible now: the real cables plus the hand-made special cases."""
    return corpus_records + SPECIAL


@pytest.fixture(scope="module")
def index(tmp_path_factory, records: list[dict]) -> SearchIndex:
    index = SearchIndex(tmp_path_factory.mktemp("search") / "cablegate.db.index")
    index.upsert(document_from_record(r, release_at=None) for r in records)
    index.upsert([document_from_record(EMBARGOED, release_at=FAR_FUTURE.isoformat())])
    index.commit(last_seq=7)
    index.close()
    return index


# --------------------------------------------------------------------------- brute force


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(mask_redactions(text or "")))


_TOKENS: dict[tuple[str, str], list[str]] = {}


def field_words(record: dict, name: str) -> list[str]:
    """words() of one field of one record, computed once (records do not change)."""
    key = (record["reference_id"], name)
    if key not in _TOKENS:
        _TOKENS[key] = words(record.get(name))
    return _TOKENS[key]


def has_word(record: dict, word: str) -> bool:
    return any(word in field_words(record, f) for f in TEXT_FIELDS)


def has_phrase(record: dict, phrase: list[str]) -> bool:
    for name in TEXT_FIELDS:
        tokens = field_words(record, name)
        for i in range(len(tokens) - len(phrase) + 1):
            if tokens[i : i + len(phrase)] == phrase:
                return True
    return False


def has_prefix(record: dict, prefix: str) -> bool:
    return any(w.startswith(prefix) for f in TEXT_FIELDS for w in field_words(record, f))


def ids(result: SearchResult) -> set[str]:
    return {hit.reference_id for hit in result.results}


def everything(index: SearchIndex, query: str, **kwargs) -> SearchResult:
    result = index.search(query, limit=1000, facet_limit=None, **kwargs)
    assert len(result.results) == result.total, "test corpus too big for one page"
    return result


# --------------------------------------------------------------------------- words


@pytest.mark.parametrize("word", ["nuclear", "minister", "election", "oil", "iran", "president"])
def test_a_word_finds_exactly_the_cables_containing_it(index, records, word) -> None:
    expected = {r["reference_id"] for r in records if has_word(r, word)}
    assert len(expected) >= 5, "pick words the corpus has"
    result = everything(index, word)
    assert result.total == len(expected)
    assert ids(result) == expected


def test_case_does_not_matter(index) -> None:
    assert everything(index, "NUCLEAR").total == everything(index, "nuclear").total


@pytest.mark.parametrize("phrase", ["foreign minister", "prime minister", "united nations"])
def test_exact_phrases(index, records, phrase) -> None:
    expected = {r["reference_id"] for r in records if has_phrase(r, phrase.split())}
    assert expected
    result = everything(index, f'"{phrase}"')
    assert ids(result) == expected
    separate = everything(index, phrase)
    assert ids(result) <= ids(separate) and result.total < separate.total


def test_boolean_logic(index, records) -> None:
    def match(word: str) -> set[str]:
        return {r["reference_id"] for r in records if has_word(r, word)}

    nuclear, iran, oil = match("nuclear"), match("iran"), match("oil")
    assert ids(everything(index, "nuclear iran")) == nuclear & iran
    assert ids(everything(index, "nuclear AND iran")) == nuclear & iran
    assert ids(everything(index, "nuclear OR iran")) == nuclear | iran
    assert ids(everything(index, "nuclear -iran")) == nuclear - iran
    assert ids(everything(index, "nuclear NOT iran")) == nuclear - iran
    assert ids(everything(index, "(nuclear OR oil) -iran")) == (nuclear | oil) - iran
    assert ids(everything(index, "nuclear iran OR oil")) == (nuclear & iran) | oil
    visible = {r["reference_id"] for r in records}
    assert ids(everything(index, "-iran")) == visible - iran


def test_prefix(index, records) -> None:
    expected = {r["reference_id"] for r in records if has_prefix(r, "minist")}
    result = everything(index, "minist*")
    assert ids(result) == expected
    assert expected > {r["reference_id"] for r in records if has_word(r, "minister")}


def test_phrase_prefix(index, records) -> None:
    def prime_minis(record: dict) -> bool:
        for name in TEXT_FIELDS:
            tokens = field_words(record, name)
            if any(
                a == "prime" and b.startswith("minis")
                for a, b in zip(tokens, tokens[1:], strict=False)
            ):
                return True
        return False

    expected = {r["reference_id"] for r in records if prime_minis(r)}
    assert ids(everything(index, '"prime minis*"')) == expected
    assert expected >= {r["reference_id"] for r in records if has_phrase(r, ["prime", "minister"])}


def test_subject_field(index, records) -> None:
    expected = {r["reference_id"] for r in records if "iran" in words(r["subject"])}
    assert expected
    assert ids(everything(index, "subject:iran")) == expected
    assert ids(everything(index, "subject:(iran OR iraq)")) == {
        r["reference_id"] for r in records if {"iran", "iraq"} & set(words(r["subject"]))
    }


# --------------------------------------------------------------------------- filters


def test_origin_by_code_or_full_name(index, records) -> None:
    code, name = next((r["origin_code"], r["origin"]) for r in records if r["origin_code"])
    expected = {r["reference_id"] for r in records if r["origin"] == name}
    assert ids(everything(index, f"origin:{code.lower()}")) == expected
    assert ids(everything(index, f'origin:"{name.upper()}"')) == expected


def test_tag_and_classification_filters(index, records) -> None:
    prel = {r["reference_id"] for r in records if "PREL" in r["tags"]}
    assert ids(everything(index, "tag:prel")) == prel
    assert ids(everything(index, "tag:PREL -tag:PGOV")) == {
        r["reference_id"] for r in records if "PREL" in r["tags"] and "PGOV" not in r["tags"]
    }
    secret = {r["reference_id"] for r in records if r["classification"] == "SECRET"}
    assert ids(everything(index, "classification:secret")) == secret
    assert ids(everything(index, "classification:SECRET*")) == {
        r["reference_id"] for r in records if r["classification"].startswith("SECRET")
    }
    assert secret and len(ids(everything(index, "classification:SECRET*"))) > len(secret)
    fouo = "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    assert everything(index, f'classification:"{fouo}"').total == sum(
        r["classification"] == fouo for r in records
    )


def test_date_filters(index, records) -> None:
    def created_in(low: str, high: str) -> set[str]:
        return {r["reference_id"] for r in records if low <= r["created"][:10] <= high}

    assert ids(everything(index, "from:2009-01-01 to:2009-06-30")) == created_in(
        "2009-01-01", "2009-06-30"
    )
    assert ids(everything(index, "from:2009-03")) == created_in("2009-03-01", "9999")
    assert ids(everything(index, "to:2005")) == created_in("0000", "2005-12-31")
    assert ids(everything(index, "created:2008-05")) == created_in("2008-05-01", "2008-05-31")
    day = sorted(r["released"][:10] for r in records)[len(records) // 2]
    assert ids(everything(index, f"released:{day}")) == {
        r["reference_id"] for r in records if r["released"][:10] == day
    }
    assert ids(everything(index, f"released:{day}..")) == {
        r["reference_id"] for r in records if r["released"][:10] >= day
    }


def test_filters_do_not_change_the_ranking(index) -> None:
    plain = [h.reference_id for h in index.search("nuclear", limit=1000).results]
    filtered = [h.reference_id for h in index.search("nuclear from:1900", limit=1000).results]
    assert plain == filtered


# --------------------------------------------------------------------------- cable IDs


def test_a_cable_id_finds_that_cable_first_then_the_cables_citing_it(index, records) -> None:
    refids = {r["reference_id"] for r in records}
    cited = Counter(ref for r in records for ref in r["references"] if ref in refids)
    target = cited.most_common(1)[0][0]
    citing = {r["reference_id"] for r in records if target in r["references"]}
    for query in (target, target.lower()):
        for sort in ("relevance", "created", "-created"):
            result = index.search(query, sort=sort, limit=50)
            assert result.results[0].reference_id == target
            assert citing <= ids(result)
    second_page = index.search(target, sort="created", offset=1, limit=50)
    assert target not in ids(second_page)
    assert second_page.total == index.search(target).total


# --------------------------------------------------------------------------- order


def test_sorts(index, records) -> None:
    created = [h.created for h in index.search("minister", sort="created", limit=1000).results]
    assert created == sorted(created) and len(set(created)) > 10
    newest = [h.created for h in index.search("minister", sort="-created", limit=1000).results]
    assert newest == sorted(newest, reverse=True)
    released = [h.released for h in index.search("minister", sort="released", limit=1000).results]
    assert released == sorted(released)
    latest = [h.released for h in index.search("minister", sort="-released", limit=1000).results]
    assert latest == sorted(latest, reverse=True)


def test_relevance_prefers_the_subject(index, records) -> None:
    in_subject = {r["reference_id"] for r in records if "iran" in words(r["subject"])}
    top = [h.reference_id for h in index.search("iran", limit=len(in_subject)).results]
    assert sum(refid in in_subject for refid in top) >= len(in_subject) * 0.7
    scores = [h.score for h in index.search("iran", limit=100).results]
    assert scores == sorted(scores, reverse=True)


def test_pages_cover_the_results_without_overlap(index) -> None:
    whole = [h.reference_id for h in index.search("minister", sort="created", limit=1000).results]
    paged = []
    for offset in range(0, len(whole), 7):
        paged += [
            h.reference_id
            for h in index.search(
                "minister", sort="created", offset=offset, limit=7, facets=False
            ).results
        ]
    assert paged == whole
    beyond = index.search("minister", offset=len(whole) + 5)
    assert beyond.results == [] and beyond.total == len(whole)


# --------------------------------------------------------------------------- facets


def test_facets_and_histogram_count_the_whole_result_set(index, records) -> None:
    matching = [r for r in records if has_word(r, "minister")]
    result = index.search("minister", limit=5, facet_limit=None)
    assert result.total == len(matching) and len(result.results) == 5
    assert result.facets["origin"] == dict(Counter(r["origin"] for r in matching))
    assert result.facets["classification"] == dict(Counter(r["classification"] for r in matching))
    assert result.facets["tag"] == dict(Counter(t for r in matching for t in set(r["tags"])))
    assert result.facets["year"] == dict(Counter(r["created"][:4] for r in matching))
    assert result.histogram == dict(Counter(r["created"][:7] for r in matching))
    assert list(result.histogram) == sorted(result.histogram)
    counts = list(result.facets["origin"].values())
    assert counts == sorted(counts, reverse=True)


def test_tags_counted_from_the_dictionary_agree(index, monkeypatch) -> None:
    """Big result sets count tags another way (search.TAGS_BY_DICTIONARY_ABOVE)."""
    from cablegate import search

    for limit in (None, 5):
        per_document = index.search("minister", facet_limit=limit).facets
        monkeypatch.setattr(search, "TAGS_BY_DICTIONARY_ABOVE", 0)
        by_dictionary = index.search("minister", facet_limit=limit).facets
        monkeypatch.undo()
        assert by_dictionary == per_document
        assert list(by_dictionary["tag"].items()) == list(per_document["tag"].items())


def test_result_size_estimate(index) -> None:
    """The estimate that chooses how tags are counted, before the total is
    known: exact for one filter, within the text fields' range for a word,
    never below the total for unions of filters and date ranges."""
    from cablegate.query import parse
    from cablegate.search import _Compiler

    searcher = index._index.searcher()
    compiler = _Compiler(index._schema, searcher, lambda: index._months_of_all(searcher))

    def estimate_and_total(query: str) -> tuple[int, int]:
        return compiler.estimate(parse(query)), index.search(query, limit=0, facets=False).total

    for query in ("origin:moscow", "tag:PREL", "classification:secret", "subject:iran"):
        estimate, total = estimate_and_total(query)
        assert estimate == total > 0, query
    for query in ("minister", "iran", "embassy"):
        estimate, total = estimate_and_total(query)
        assert 0 < estimate <= total <= 3 * estimate, query
    for query in ("tag:PREL OR tag:PGOV", "from:2008 to:2009", "from:2008-03-15", "origin:moscow OR iran"):
        estimate, total = estimate_and_total(query)
        assert estimate >= total > 0, query
    estimate, total = estimate_and_total("tag:PREL from:2008")
    assert estimate > 0 and total > 0
    assert estimate_and_total("nosuchwordanywhere") == (0, 0)


def test_searches_at_once_get_their_own_counts(index) -> None:
    """A server runs searches on several threads; each gets its own facets."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["minister", "iran", "", "nuclear OR oil", "tag:PREL", "embassy"] * 3
    alone = {q: index.search(q, limit=3) for q in set(queries)}
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda q: index.search(q, limit=3), queries))
    for query, result in zip(queries, together, strict=True):
        assert result.as_json() == alone[query].as_json(), query


def test_snippet_window_in_long_texts(tmp_path) -> None:
    """A long body: the passage around a late match, cut at whole words."""
    index = SearchIndex(tmp_path / "idx")
    body = "filler words here. " * 400 + "The ambassador discussed the lateword treaty. " + "x " * 50
    index.upsert([document_from_record(_record("99LONG1", body), release_at=None)])
    index.commit()
    hit = index.search("lateword").results[0]
    assert "<mark>lateword</mark> treaty" in hit.snippet
    assert hit.snippet_text.startswith("… ") and hit.snippet_text.endswith(" …")
    assert "ambassador discussed the lateword" in hit.snippet_text


def test_facet_limit_keeps_the_most_frequent_values(index) -> None:
    full = index.search("", facet_limit=None).facets["tag"]
    top = index.search("", facet_limit=10).facets["tag"]
    assert len(full) > 10 and len(top) == 10
    assert top == dict(list(full.items())[:10])


def test_facets_can_be_skipped(index) -> None:
    result = index.search("minister", facets=False)
    assert result.facets == {} and result.histogram == {} and result.total > 0


@pytest.mark.parametrize("sort", ["relevance", "-created"])
def test_the_total_is_the_same_with_or_without_facets(index, records, sort) -> None:
    """The total is the same with or without the facet counts, for any page."""
    target = records[0]["reference_id"]
    queries = ["minister", "", "tag:PREL", "nuclear OR oil", "-iran", '"foreign minister"',
               "from:2008 to:2009", "nosuchwordanywhere", target]
    for query in queries:
        counted = index.search(query, sort=sort, limit=3).total
        assert counted == index.search(query, sort=sort, limit=3, facets=False).total, query
        assert counted == index.search(query, sort=sort, limit=0, offset=5).total, query
    assert index.search("", limit=1).total == len(records)


# --------------------------------------------------------------------------- snippets


def test_snippets_highlight_the_matches(index) -> None:
    result = index.search('"foreign minister"', limit=10)
    for hit in result.results:
        marked = re.findall(r"<mark>(.*?)</mark>", hit.snippet)
        assert marked and {m.lower() for m in marked} <= {"foreign", "minister"}
        assert [hit.snippet_text[a:b].lower() for a, b in hit.highlights] == [
            m.lower() for m in marked
        ]
        assert "<mark>" not in hit.snippet_text


def test_snippets_are_escaped_html(index) -> None:
    hit = index.search("zanzibarian").results[0]
    assert hit.reference_id == "99TESTPOST1"
    assert "<script" not in hit.snippet and "<b>" not in hit.snippet
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet and "<mark>zanzibarian</mark>" in hit.snippet
    assert "<script>alert('pwned')</script>" in hit.snippet_text
    stripped = re.sub(r"</?mark>", "", hit.snippet)
    assert "<" not in stripped and ">" not in stripped
    # a query word that is markup is searched as text, and its hit escaped
    script = index.search("script alert pwned").results[0]
    assert script.reference_id == "99TESTPOST1"
    assert "&lt;<mark>script</mark>&gt;" in script.snippet


def test_snippet_without_a_body_match_shows_the_start(index) -> None:
    hit = index.search("subject:zanzibarian OR subject:TEST").results[0]
    assert hit.snippet_text and "<mark>" not in hit.snippet


# --------------------------------------------------------------------------- redactions, accents


def test_redaction_runs_never_match(index, records) -> None:
    assert index.search("XXXXXXXXXXXX").total == 0
    assert index.search("xxxxxxxxxxxx").total == 0
    assert index.search("xxx*").total == 0
    assert index.search('"met XXXXXXXXXXXX yesterday" OR xxxx*').total == 1  # only the phrase
    redacted = [r for r in records if "XXXXXXXX" in (r["body"] or "")]
    assert len(redacted) > 20, "the real corpus has redacted cables"


def _masked_char_by_char(text: str) -> str:
    """mask_redactions spelled out: each maximal run of 3+ X touching a letter
    or digit becomes as many spaces."""
    out = list(text)
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == "X":
            j += 1
        if j - i >= 3 and ((i and text[i - 1].isalnum()) or (j < len(text) and text[j].isalnum())):
            out[i:j] = " " * (j - i)
        i = max(j, i + 1)
    return "".join(out)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["X", "XX", "XXXX", "x", "a", "1", " ", "\n", "é", "_"])))
def test_mask_redactions_blanks_exactly_the_runs_touching_words(pieces: list[str]) -> None:
    text = "".join(pieces)
    masked = mask_redactions(text)
    assert masked == _masked_char_by_char(text)
    assert len(masked) == len(text)


_WORD_PIECES = ["oil", "soil", "Oil", "oils", "gas", "iran", "a", "1", "_", " ", "-", "\n"]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(_WORD_PIECES)),
    st.sets(st.sampled_from(["oil", "oils", "gas", "iran", "a", "1"]), min_size=1),
)
def test_first_word_finds_what_the_word_regex_finds(pieces: list[str], words: set[str]) -> None:
    """Snippet windows: str.find per word on the lower-cased text, as the
    case-insensitive regex of alternatives (longest word first) would."""
    from cablegate.search import _first_word

    text = "".join(pieces)
    ordered = sorted(words, key=len, reverse=True)
    regex = re.compile(rf"(?<![^\W_])(?:{'|'.join(ordered)})(?![^\W_])", re.IGNORECASE)
    found = regex.search(text)
    assert _first_word(text, text.lower(), ordered) == (found.span() if found else None)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from([*_WORD_PIECES, "X", "XX", "XXXX", "x"])),
    st.sets(st.sampled_from(["oil", "gas", "iran", "a", "1", "x", "ax"]), min_size=1),
)
def test_first_word_never_misses_a_word_the_index_has(pieces: list[str], words: set[str]) -> None:
    """Next to redaction runs too: whenever the index's tokens of the text
    (masked, lower-cased letter and digit runs) hold a word, one is found, no
    later than the first of them."""
    from cablegate.search import _first_word

    text = "".join(pieces)
    ordered = sorted(words, key=len, reverse=True)
    tokens = [m for m in re.finditer(r"[^\W_]+", mask_redactions(text).lower()) if m.group() in words]
    found = _first_word(text, text.lower(), ordered)
    if tokens:
        assert found is not None and found[0] <= tokens[0].start()


def test_words_around_redactions_are_found_and_phrases_do_not_jump_them(index) -> None:
    assert ids(everything(index, "quxminister yesterday")) == {"99TESTPOST3"}
    assert everything(index, '"quxminister met yesterday"').total == 0
    assert ids(everything(index, '"quxminister met XXXXXXXXXXXX yesterday"')) == {"99TESTPOST3"}
    assert ids(everything(index, '"spoke to today"')) == {"99TESTPOST3"}  # toXXXXXXXXXXXX
    assert "99TESTPOST3" in ids(everything(index, "told qux"))  # XXXXXXXXXXXXtold
    hit = index.search("quxminister").results[0]
    assert "XXXXXXXXXXXX" in hit.snippet_text  # the text shown stays as published


def test_accents_are_folded_both_ways(index) -> None:
    for query in (
        "cafe zurichberg",
        "Café Zürichberg",
        "CAFE ZURICHBERG",
        "saoquxo",
        '"sãoquxo delegates"',
        "aeroskobing",
        "ÆRØSKØBING",
        "subject:geneve",
        "subject:GENÈVE",
        "réunion genève",
    ):
        assert ids(everything(index, query)) == {"99TESTPOST2"}, query
    assert ids(everything(index, 'origin:"consulate quebecqux"')) == {"99TESTPOST2"}
    assert ids(everything(index, "origin:québecqux")) == {"99TESTPOST2"}
    hit = index.search("cafe zurichberg").results[0]
    assert "<mark>Café</mark> <mark>Zürichberg</mark>" in hit.snippet


# --------------------------------------------------------------------------- release gating


def test_embargoed_documents_are_absent_everywhere(index) -> None:
    assert index.search("embargoedmarker").total == 0
    assert index.search("99TESTPOST4").total == 0
    assert index.search("tag:ZZEMBARGO").total == 0
    everything_now = index.search("", facet_limit=None)
    assert "Embassy Nowhere" not in everything_now.facets["origin"]
    assert "TOP SECRET" not in everything_now.facets["classification"]
    assert "ZZEMBARGO" not in everything_now.facets["tag"]
    assert "1999" not in everything_now.facets["year"]
    assert "1999-02" not in everything_now.histogram
    nuclear = index.search("nuclear", limit=1000, facet_limit=None)
    assert "99TESTPOST4" not in ids(nuclear)
    assert "Embassy Nowhere" not in nuclear.facets["origin"]


def test_embargoed_documents_appear_at_their_release_time(index) -> None:
    before = index.search("nuclear", now=FAR_FUTURE - timedelta(seconds=1))
    at = index.search("nuclear", now=FAR_FUTURE, limit=1000, facet_limit=None)
    assert at.total == before.total + 1
    assert "99TESTPOST4" in ids(at)
    assert at.facets["origin"]["Embassy Nowhere"] == 1
    assert at.histogram["1999-02"] == 1
    assert index.search("99TESTPOST4", now=FAR_FUTURE).results[0].reference_id == "99TESTPOST4"
    assert index.search("released:2200", now=FAR_FUTURE).total == 1
    assert index.search("released:2200").total == 0
    assert index.search("embargoedmarker", now=datetime(9999, 1, 1)).total == 1


def test_documents_without_a_release_time_never_match(tmp_path) -> None:
    index = SearchIndex(tmp_path / "idx")
    unreleased = _record("99NOWHERE1", "secretword", released=None)
    index.upsert([document_from_record(unreleased, release_at=None)])
    # beyond what tantivy can store (2262): never arrives either
    index.upsert(
        [document_from_record(_record("99NOWHERE2", "secretword"), release_at="3000-01-01")]
    )
    index.commit()
    assert index.num_docs == 2
    assert index.search("secretword", now=datetime(9999, 1, 1)).total == 0


# --------------------------------------------------------------------------- deep pagination


@pytest.fixture(scope="module")
def big_index(tmp_path_factory) -> SearchIndex:
    """12,000 small documents, created one minute apart."""
    index = SearchIndex(tmp_path_factory.mktemp("big") / "idx")
    start = datetime(2005, 1, 1)
    index.upsert(
        document_from_record(
            _record(
                f"05BIG{n}",
                f"common word{n % 10} item{n}",
                created=(start + timedelta(minutes=n)).isoformat(),
                tags=[],
            ),
            release_at="2010-01-01",
        )
        for n in range(12_000)
    )
    index.commit()
    index.close()
    return index


def test_deep_pagination(big_index) -> None:
    page = big_index.search("common", sort="created", offset=10_000, limit=20)
    assert page.total == 12_000
    assert [h.reference_id for h in page.results] == [f"05BIG{n}" for n in range(10_000, 10_020)]
    newest = big_index.search("common", sort="-created", offset=11_990, limit=20)
    assert [h.reference_id for h in newest.results] == [f"05BIG{n}" for n in range(9, -1, -1)]
    seen = set()
    for offset in (10_000, 10_050, 10_100):
        seen |= ids(big_index.search("common", offset=offset, limit=50, facets=False))
    assert len(seen) == 150
    filtered = big_index.search("word3", offset=1_000, limit=100, sort="created")
    assert filtered.total == 1_200
    assert [h.reference_id for h in filtered.results][:2] == ["05BIG10003", "05BIG10013"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("query", "start"),
    [
        ("iran (nuclear", "unbalanced parenthesis at column 6"),
        ("foo:bar", 'unknown field "foo:" at column 1'),
        ('iran "nuc', "unterminated quote starting at column 6"),
    ],
)
def test_invalid_syntax_raises_a_clear_error(index, query, start) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        index.search(query)
    assert str(caught.value).startswith(start)


def test_bad_arguments(index) -> None:
    with pytest.raises(ValueError, match="unknown sort"):
        index.search("iran", sort="popularity")
    with pytest.raises(ValueError, match="offset"):
        index.search("iran", offset=-1)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(list('()"*-: abnuclearXé') + ["OR ", "NOT ", "tag:", "from:200", "07"]),
        max_size=20,
    ).map("".join)
)
def test_any_query_answers_or_says_why(index, query) -> None:
    try:
        result = index.search(query, limit=3)
    except QuerySyntaxError:
        return
    assert result.total >= len(result.results)
    assert sum(result.histogram.values()) <= result.total


def test_only_unindexed_words_match_nothing(index) -> None:
    assert index.search("!!!").total == 0
    assert index.search("").total == index.search("-zzzznotaword").total > 400


# --------------------------------------------------------------------------- JSON shape


def test_as_json_shape(index) -> None:
    data = index.search("nuclear", limit=3).as_json()
    assert list(data) == ["total", "results", "facets", "histogram"]
    assert list(data["results"][0]) == [
        "reference_id",
        "subject",
        "created",
        "origin",
        "classification",
        "snippet",
    ]
    assert list(data["facets"]) == ["origin", "classification", "tag", "year"]
    assert all(re.fullmatch(r"\d{4}-\d{2}", month) for month in data["histogram"])
    json.dumps(data)


# --------------------------------------------------------------------------- the index itself


def test_upsert_replaces_and_delete_removes(tmp_path) -> None:
    index = SearchIndex(tmp_path / "idx")
    index.upsert([document_from_record(_record("99A1", "alpha"), release_at=None)])
    index.upsert([document_from_record(_record("99A1", "beta"), release_at=None)])
    index.upsert([document_from_record(_record("99A2", "beta"), release_at=None)])
    index.commit(last_seq=3)
    assert index.num_docs == 2
    assert index.search("alpha").total == 0 and index.search("beta").total == 2
    index.close()

    reopened = SearchIndex(tmp_path / "idx")
    assert reopened.last_seq == 3
    reopened.upsert([document_from_record(_record("99A2", "gamma"), release_at=None)])
    reopened.delete(["99A1"])
    reopened.commit(last_seq=5)
    assert ids(reopened.search("beta OR gamma")) == {"99A2"}
    assert reopened.search("beta").total == 0
    assert reopened.last_seq == 5
    reopened.clear()
    reopened.commit()
    assert reopened.num_docs == 0 and reopened.last_seq == 0
    reopened.close()


def test_public_records_are_accepted_as_documents(tmp_path) -> None:
    """The indexer hands public records (``released`` = release time) straight in."""
    index = SearchIndex(tmp_path / "idx")
    index.upsert([_record("99P1", "publicword", released="2030-01-01 00:00")])
    index.commit()
    assert index.search("publicword", now=datetime(2029, 12, 31)).total == 0
    assert index.search("publicword", now=datetime(2030, 1, 1)).total == 1


def test_uncommitted_changes_are_invisible_and_dropped_on_close(tmp_path) -> None:
    index = SearchIndex(tmp_path / "idx")
    index.upsert([document_from_record(_record("99U1", "pending"), release_at=None)])
    assert index.search("pending").total == 0
    index.close()
    assert SearchIndex(tmp_path / "idx").search("pending").total == 0


def test_small_commits_are_merged_not_piled_up(tmp_path) -> None:
    """Each sync opens a writer, commits a few documents and closes: closing
    waits for the merges the commit started instead of cancelling them, so the
    segments do not pile up (facet counts cost per segment)."""
    for n in range(12):
        index = SearchIndex(tmp_path / "idx")
        index.upsert([document_from_record(_record(f"99M{n}", f"word{n}"), release_at=None)])
        index.commit(last_seq=n + 1)
        index.close()
    index = SearchIndex(tmp_path / "idx")
    searcher = index._index.searcher()
    assert searcher.num_docs == 12
    assert searcher.num_segments < 8
    assert index.search("word11").total == 1 and index.last_seq == 12


def test_one_writer_at_a_time(tmp_path) -> None:
    first = SearchIndex(tmp_path / "idx")
    first.upsert([document_from_record(_record("99W1", "one"), release_at=None)])
    second = SearchIndex(tmp_path / "idx")
    with pytest.raises(SearchIndexError, match="being written"):
        second.upsert([document_from_record(_record("99W2", "two"), release_at=None)])
    first.commit()
    assert second.search("one").total == 1  # readers see the writer's commits
    first.close()
    second.upsert([document_from_record(_record("99W2", "two"), release_at=None)])
    second.commit()
    second.close()


def test_directories(tmp_path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(SearchIndexError, match="not a cablegate search index"):
        SearchIndex(tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"
    assert not SearchIndex.exists(tmp_path / "new")
    SearchIndex(tmp_path / "new").commit(last_seq=9)
    assert SearchIndex.exists(tmp_path / "new")
    # an index from another schema version is derived data: it starts again, empty
    meta = tmp_path / "new" / META_FILE
    meta.write_text(json.dumps({"schema_version": 0, "last_seq": 9}))
    assert SearchIndex(tmp_path / "new").last_seq == 0


# --------------------------------------------------------------------------- CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CABLEGATE_DB": f"sqlite:///{cwd / 'absent.db'}"}
    env.pop("CABLEGATE_INDEX", None)
    return subprocess.run(
        [sys.executable, "-m", "cablegate", "search", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_json(index, tmp_path) -> None:
    run = _cli("nuclear iran", "--json", "--limit", "3", "--index", str(index.path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    expected = index.search("nuclear iran", limit=3)
    assert data == expected.as_json()
    assert not (tmp_path / "absent.db").exists()  # searching never creates a database


def test_cli_readable_listing(index, tmp_path) -> None:
    run = _cli("zanzibarian", "--index", str(index.path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1 cable matches 'zanzibarian'")
    assert "99TESTPOST1" in run.stdout and "<script>alert('pwned')</script>" in run.stdout
    assert "Origin: Embassy Testpost (1)" in run.stdout


def test_cli_sort_and_offset(index, tmp_path) -> None:
    run = _cli(
        "minister",
        "--json",
        "--sort",
        "-created",
        "--offset",
        "5",
        "--limit",
        "4",
        "--index",
        str(index.path),
        cwd=tmp_path,
    )
    got = [r["reference_id"] for r in json.loads(run.stdout)["results"]]
    assert got == [
        h.reference_id for h in index.search("minister", sort="-created", offset=5, limit=4).results
    ]


def test_cli_invalid_query_exits_2_with_the_message(index, tmp_path) -> None:
    run = _cli("iran (nuclear OR atomic", "--index", str(index.path), cwd=tmp_path)
    assert run.returncode == 2
    assert "unbalanced parenthesis at column 6" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1] == "       ^"


def test_cli_without_an_index(tmp_path) -> None:
    run = _cli("iran", "--index", str(tmp_path / "none"), cwd=tmp_path)
    assert run.returncode == 1
    assert "no search index at" in run.stderr and "Traceback" not in run.stderr


# --------------------------------------------------------------------------- through the archive


@pytest.fixture
def archive(db_url, corpus, tmp_path):
    """Real cables ingested into SQLite or PostgreSQL, with the index beside."""
    from cablegate.db import get_engine
    from cablegate.ingest import ingest

    files = sorted((corpus / "cablegate_html" / "2011-04_avilaroman").rglob("*.html"))[::40]
    engine = get_engine(db_url)
    index = SearchIndex(tmp_path / "cablegate.db.index")
    ingest(files, engine, index=index)
    index.close()
    records = [r for path in files for r in parse_path(path)]
    yield engine, index, records
    engine.dispose()


def test_archive_search_on_both_backends(archive) -> None:
    from cablegate.public import PublicArchive

    engine, index, records = archive
    public = PublicArchive(engine, index)
    expected = {r["reference_id"] for r in records if has_word(r, "minister")}
    assert expected
    result = public.search("minister", limit=100)
    assert {h.reference_id for h in result.results} == expected and result.total == len(expected)
    by_origin = Counter(r["origin"] for r in records if r["reference_id"] in expected)
    assert index.search("minister", facet_limit=None).facets["origin"] == dict(by_origin)


def test_archive_embargo_and_redaction_reach_the_index(archive) -> None:
    from cablegate import db, store
    from cablegate.indexer import sync_index
    from cablegate.public import PublicArchive

    engine, index, records = archive
    target = next(r for r in records if has_word(r, "minister") and r["origin_code"])
    refid = target["reference_id"]
    marker = next(w for w in field_words(target, "body") if len(w) > 6 and w.isalpha())
    assert index.search(refid).results[0].reference_id == refid
    assert refid in ids(index.search(marker, limit=100))
    now = db.utcnow()
    with db.writing(engine) as conn:
        store.set_release_at(conn, [refid], now + timedelta(days=30), by="editor", now=now)
    public = PublicArchive(engine, index)
    assert refid not in ids(public.search("minister", limit=100))
    assert public.search(refid).total == 0
    assert public.search(f"origin:{target['origin_code']}").total == sum(
        r["origin"] == target["origin"] and r["reference_id"] != refid for r in records
    )
    later = PublicArchive(engine, index, now=now + timedelta(days=31))
    assert later.search(refid).results[0].reference_id == refid

    with db.writing(engine) as conn:
        store.set_release_at(conn, [refid], now - timedelta(days=1), by="editor", now=now)
        store.add_redaction(conn, refid, marker, reason="source", created_by="editor", now=now)
    sync_index(engine, index)
    index.close()
    assert refid not in ids(index.search(marker, limit=100))
    hit = index.search(refid).results[0]
    assert hit.reference_id == refid
    assert marker not in _fold(hit.snippet_text + (hit.subject or ""))


def _commit_meta_repeatedly(path: str, rounds: int) -> str:
    try:
        index = SearchIndex(path)
        for seq in range(rounds):
            index.commit(last_seq=seq)  # no pending documents: metadata only
        return "ok"
    except Exception as err:  # reported to the test, which shows it
        return f"{type(err).__name__}: {err}"


def test_processes_committing_one_index_at_once_do_not_collide(tmp_path) -> None:
    """Web workers each sync and commit the same index: their metadata writes
    must not trip over each other's temporary files (a 500 under load before)."""
    import multiprocessing

    path = str(tmp_path / "index")
    SearchIndex(path).close()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        outcomes = pool.starmap(_commit_meta_repeatedly, [(path, 400)] * 3)
    assert outcomes == ["ok"] * 3
    assert SearchIndex(path).last_seq == 399
    assert sorted(p.name for p in (tmp_path / "index").iterdir() if p.suffix == ".tmp") == []
