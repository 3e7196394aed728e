"""The full-text search index: tantivy, in a directory beside the database.

The index is *derived*: the database is the source of truth, ``cablegate index
rebuild`` recreates the index from it and ``cablegate.indexer.sync_index`` keeps
it in step through the public gate (``PublicArchive``), so it only ever holds
public text (released or scheduled cables, redactions applied). Every document
carries its release time and every search is restricted to ``release_at <=
now``: a cable scheduled for later is in no total, facet, histogram or result.

    index = SearchIndex("cablegate.db.index")        # opens or creates
    index.upsert([document_from_record(rec, release_at="2010-12-06 12:12")])
    index.commit(last_seq=42)
    result = index.search('iran "nuclear program" from:2008', limit=20)
    result.total, result.results[0].snippet, result.facets["origin"], result.histogram

Text is analysed with tantivy's simple tokenizer (runs of letters and digits),
lower-cased and ASCII-folded (accents removed) in the index and in queries
alike. Redaction runs (3 or more X, as in XXXXXXXXXXXX) are never indexed as
words: a whole-word run is dropped by a stop-word filter (its position stays
empty, so a phrase does not match across it) and a run stuck to a word
("toXXXXXXXXXXXX") is blanked before tokenizing. The stored text that snippets
are cut from stays exactly as published.

Why tantivy: measured on this machine on a 251,287-cable corpus it answered
top-20 searches with snippets at p50 7.5 ms / p95 19 ms with exact counts and
facet counts under 1 ms, where SQLite FTS5 took p50 66 ms / p95 172 ms and
91-418 ms per facet count (issue 3; our own figures: docs/performance.md).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Order, Query

from . import jsoncodec
from .query import And, DateRange, Node, Not, Or, Phrase, Term, cable_id, looks_like_cable_id, parse

SCHEMA_VERSION = 3
META_FILE = "cablegate-search.json"
# Files other parts of cablegate may keep in the index directory (indexer.py's watermark).
_COMPANION_FILES = {"sync-state.json"}

SORTS = ("relevance", "created", "-created", "released", "-released")
FACETS = ("origin", "classification", "tag", "year")
FACET_LIMIT = 100  # values per facet, most frequent first (counts are always exact)
SNIPPET_CHARS = 180
SNIPPET_LEAD = 50  # characters of context kept before the first hit
SNIPPET_WINDOW = 2400  # characters of a long body searched for the best passage
MAX_LIMIT = 1000

# Default text fields and their weights: a word in the subject counts double.
TEXT_FIELDS: tuple[tuple[str, float], ...] = (("subject", 2.0), ("body", 1.0), ("header", 0.5))
# Query-language keyword field -> index field matched case- and accent-insensitively.
KEYWORD_FIELDS = {"origin": "origin_kw", "tag": "tag_kw", "classification": "classification_kw"}
# An exact reference-ID match outranks any text match.
ID_BOOST = 1000.0
PREFIX_HIGHLIGHT_TERMS = 20  # prefix expansions highlighted in snippets
# Big enough that every segment reports every value: facet counts are exact.
_ALL_BUCKETS = 1_000_000
# The fast columns with one value per cable (the month feeds the histogram).
_SINGLE_VALUED = ("origin", "classification", "month")
# Result sets estimated larger than this (from the query's term frequencies,
# before the search runs) count their tags by walking the tag dictionary (measured
# crossover on the 251,287-cable benchmark index: docs/performance.md).
TAGS_BY_DICTIONARY_ABOVE = 80_000

_CABLE_ANALYZER = "cable"
_KEYWORD_ANALYZER = "keyword"
_MAX_TOKEN = 40  # longer "words" are noise (tantivy's default limit too)
_RELOAD_ATTEMPTS = 5


def replace_file(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically, durably and safely against other
    processes doing the same (each writes its own temporary file: several web
    workers sync and commit one index)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SearchIndexError(RuntimeError):
    """The index directory cannot be used (busy, foreign, unreadable)."""


# --------------------------------------------------------------------------- analysis


_REDACTION_RUN = re.compile("XXX+")


def mask_redactions(text: str) -> str:
    """``text`` with redaction runs stuck to other letters blanked (same length).

    Redactions are upper-case runs of 3 or more X. A whole word of X's (any
    case) stays (the stop-word filter drops it and keeps its
    position); ``toXXXXXXXXXXXX`` becomes ``to            `` so "to" is still a
    word. Lengths never change, so offsets into the masked text are offsets
    into the original (snippets rely on that).
    """
    parts: list[str] = []
    last = 0
    size = len(text)
    for run in _REDACTION_RUN.finditer(text):  # the literal start lets re skip ahead fast
        start, end = run.span()
        if (start and text[start - 1].isalnum()) or (end < size and text[end].isalnum()):
            parts += [text[last:start], " " * (end - start)]
            last = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


@cache
def cable_analyzer() -> tantivy.TextAnalyzer:
    """Words: letter/digit runs, lower-cased, accents folded, redaction runs dropped."""
    runs = ["x" * n for n in range(3, _MAX_TOKEN + 1)]
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_MAX_TOKEN + 1))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.custom_stopword(runs))
        .build()
    )


@cache
def keyword_analyzer() -> tantivy.TextAnalyzer:
    """A whole value as one term, lower-cased and accents folded (origin, tag, classification)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def text_tokens(text: str) -> list[tuple[int, str]]:
    """(position, term) of ``text`` as the index sees it (positions keep dropped runs' gaps)."""
    tokens = cable_analyzer().pre_tokenize(mask_redactions(text)).tokens
    return [(token.position, token.text) for token in tokens]


def keyword_term(value: str) -> str:
    terms = keyword_analyzer().analyze(value.strip())
    return terms[0] if terms else ""


# --------------------------------------------------------------------------- schema


@cache
def index_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Identity: the raw ID for replace/delete, a folded copy for lookups.
    builder.add_text_field("reference_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("refid", tokenizer_name=_KEYWORD_ANALYZER, index_option="basic")
    builder.add_text_field("references", tokenizer_name=_KEYWORD_ANALYZER, index_option="basic")
    for name, _weight in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name=_CABLE_ANALYZER)
    for name in KEYWORD_FIELDS.values():
        builder.add_text_field(name, tokenizer_name=_KEYWORD_ANALYZER, index_option="basic")
    # Facet columns: the values as published (fast fields feed the aggregations).
    for name in ("origin", "classification", "tag", "month"):
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_date_field("created", indexed=True, fast=True)
    builder.add_date_field("release_at", indexed=True, fast=True)
    # What results show, as published: metadata (JSON) and the body text (UTF-8).
    builder.add_bytes_field("stored", stored=True, indexed=False)
    builder.add_bytes_field("body_text", stored=True, indexed=False)
    return builder.build()


# --------------------------------------------------------------------------- documents


def parse_time(value: str | datetime | date | None) -> datetime | None:
    """A time as naive UTC: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]", ISO with offset, or datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


# tantivy stores times as i64 nanoseconds: about 1677-09-21 to 2262-04-11.
_EARLIEST = tantivy.MIN_DATETIME.astimezone(UTC).replace(tzinfo=None)
_LATEST = tantivy.MAX_DATETIME.astimezone(UTC).replace(tzinfo=None)


def _storable(value: datetime) -> datetime:
    """``value`` clamped to the range tantivy can store (a release in 2999 stays "never yet")."""
    return min(max(value, _EARLIEST), _LATEST)


def format_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def document_from_record(record: dict[str, Any], *, release_at: str | datetime | None) -> dict:
    """The index document of one *public* record (redactions already applied).

    ``release_at`` is the time from which the cable is public ("YYYY-MM-DD
    HH:MM", ISO or datetime; naive means UTC); None means the record's own
    ``released`` value (a public record from ``PublicArchive`` carries its
    release time there). A document with no release time at all is indexed
    but never matches. The returned dict has the keys ``reference_id``,
    ``subject``, ``created``, ``release_at`` (ISO string or None), ``origin``,
    ``origin_code``, ``classification``, ``tags``, ``references``, ``header``,
    ``body``; ``SearchIndex.upsert`` takes these (or public records directly).
    """
    when = parse_time(release_at if release_at is not None else record.get("released"))
    return {
        "reference_id": record["reference_id"],
        "subject": record.get("subject"),
        "created": record.get("created"),
        "release_at": None if when is None else when.isoformat(),
        "origin": record.get("origin"),
        "origin_code": record.get("origin_code"),
        "classification": record.get("classification"),
        "tags": list(record.get("tags") or []),
        "references": list(record.get("references") or []),
        "header": record.get("header"),
        "body": record.get("body"),
    }


def _as_index_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Accept both ``document_from_record`` output and public records."""
    if "release_at" in doc and "released" not in doc:
        return doc
    return document_from_record(doc, release_at=doc.get("release_at"))


def _tantivy_document(doc: dict[str, Any]) -> tantivy.Document:
    out = tantivy.Document()
    refid = doc["reference_id"]
    out.add_text("reference_id", refid)
    out.add_text("refid", refid)
    for reference in doc.get("references") or []:
        if isinstance(reference, str) and reference:
            out.add_text("references", reference)
    for name, _weight in TEXT_FIELDS:
        if doc.get(name):
            out.add_text(name, mask_redactions(doc[name]))
    for name in ("origin", "origin_code"):
        if doc.get(name):
            out.add_text("origin_kw", doc[name])
    if doc.get("origin"):
        out.add_text("origin", doc["origin"])
    if doc.get("classification"):
        out.add_text("classification", doc["classification"])
        out.add_text("classification_kw", doc["classification"])
    for tag in dict.fromkeys(doc.get("tags") or []):
        if tag:
            out.add_text("tag", tag)
            out.add_text("tag_kw", tag)
    created = parse_time(doc.get("created"))
    if created is not None:
        out.add_date("created", created)
        out.add_text("month", f"{created.year:04d}-{created.month:02d}")
    release_at = parse_time(doc.get("release_at"))
    # No release time: never public (the latest storable time never comes).
    out.add_date("release_at", _LATEST if release_at is None else _storable(release_at))
    stored = {
        "reference_id": refid,
        "subject": doc.get("subject"),
        "created": doc.get("created"),
        "released": format_time(release_at),
        "origin": doc.get("origin"),
        "classification": doc.get("classification"),
        "tags": list(doc.get("tags") or []),
    }
    out.add_bytes("stored", jsoncodec.compact_bytes(stored))
    # The body as published, for snippets: raw UTF-8 (no JSON escaping of 8 KB texts).
    out.add_bytes("body_text", (doc.get("body") or "").encode("utf-8"))
    return out


# --------------------------------------------------------------------------- results


@dataclass
class SearchHit:
    """One result. ``snippet`` is HTML-safe (escaped text, hits in <mark>...</mark>);
    ``snippet_text`` is the same text plain, ``highlights`` the (start, end)
    character spans of the hits in it."""

    reference_id: str
    subject: str | None
    created: str | None
    released: str | None
    origin: str | None
    classification: str | None
    tags: list[str]
    snippet: str
    snippet_text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    score: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "subject": self.subject,
            "created": self.created,
            "origin": self.origin,
            "classification": self.classification,
            "snippet": self.snippet,
        }


@dataclass
class SearchResult:
    """``total`` exact; ``facets[kind]`` value -> count over the whole result set
    (most frequent first, at most ``facet_limit`` values); ``histogram``
    "YYYY-MM" -> count over the whole result set (chronological)."""

    query: str
    total: int
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    histogram: dict[str, int]
    offset: int = 0
    limit: int = 20
    sort: str = "relevance"

    def as_json(self) -> dict[str, Any]:
        """The object ``cablegate search --json`` prints."""
        return {
            "total": self.total,
            "results": [hit.as_json() for hit in self.results],
            "facets": {kind: dict(values) for kind, values in self.facets.items()},
            "histogram": dict(self.histogram),
        }


# --------------------------------------------------------------------------- compiling


_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _regex_escape(text: str) -> str:
    """``text`` as a literal in tantivy's regex syntax."""
    return "".join("\\" + c if c in _REGEX_META else c for c in text)


class _Compiler:
    """Syntax tree -> tantivy Query, plus the positive body terms to highlight."""

    def __init__(
        self,
        schema: tantivy.Schema,
        searcher: tantivy.Searcher,
        months: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.schema = schema
        self.searcher = searcher
        self.months = months  # -> the number of documents created in each YYYY-MM
        self.highlight: list[str] = []  # body terms of the query's positive words

    def compile(self, node: Node, negated: bool = False) -> Query | None:
        if isinstance(node, And):
            return self._and(node, negated)
        if isinstance(node, Or):
            return _any([self.compile(item, negated) for item in node.items])
        if isinstance(node, Not):
            inner = self.compile(node.item, not negated)
            return None if inner is None else _without(inner)
        if isinstance(node, DateRange):
            return self._date(node)
        if node.field is None or node.field == "subject":
            return self._text(node, negated)
        return self._keyword(node)

    def estimate(self, node: Node) -> int:
        """About how many documents ``node`` matches, from its terms' document
        frequencies (a dictionary lookup per term, no query run) and the
        documents' months. A word counts in the text field where it is most
        frequent (the fields overlap: a subject's words are in the body too);
        the parts of an AND are taken as independent; prefixes, release dates
        and negations are not estimated (any document may match)."""
        everything = max(self.searcher.num_docs, 1)
        if isinstance(node, And):
            share = 1.0
            for item in node.items:
                if not isinstance(item, Not):
                    share *= self.estimate(item) / everything
            return round(everything * share)
        if isinstance(node, Or):
            return min(everything, sum(self.estimate(item) for item in node.items))
        if isinstance(node, DateRange):
            return self._created_between(node)
        if isinstance(node, Not) or node.prefix:
            return everything
        if node.field is not None and node.field != "subject":
            return self.searcher.doc_freq(KEYWORD_FIELDS[node.field], keyword_term(node.text))
        words = [text for _position, text in text_tokens(node.text)]
        fields = _text_fields(node)
        count = 0
        if words:  # a phrase is in a field only where all its words are
            count = max(min(self.searcher.doc_freq(name, w) for w in words) for name, _ in fields)
        if node.field is None and isinstance(node, Term) and looks_like_cable_id(node.text):
            for variant in _id_variants(node.text):
                count += self.searcher.doc_freq("refid", variant)
                count += self.searcher.doc_freq("references", variant)
        return min(everything, count)

    def _created_between(self, node: DateRange) -> int:
        if node.field != "created" or self.months is None:
            return self.searcher.num_docs
        first = node.start.strftime("%Y-%m") if node.start else ""
        last = node.end.strftime("%Y-%m") if node.end else "9999-99"
        return sum(n for month, n in self.months().items() if first <= month <= last)

    def _and(self, node: And, negated: bool) -> Query | None:
        must: list[Query] = []
        must_not: list[Query] = []
        for item in node.items:
            if isinstance(item, Not):
                inner = self.compile(item.item, not negated)
                if inner is not None:
                    must_not.append(inner)
            else:
                query = self.compile(item, negated)
                if query is not None:
                    must.append(query)
        if not must and not must_not:
            return None
        if not must:
            must.append(Query.all_query())
        if len(must) == 1 and not must_not:
            return must[0]
        clauses = [(Occur.Must, q) for q in must] + [(Occur.MustNot, q) for q in must_not]
        return Query.boolean_query(clauses)

    # -- words and phrases in text fields

    def _text(self, node: Term | Phrase, negated: bool) -> Query | None:
        tokens = text_tokens(node.text)
        fields = _text_fields(node)
        options: list[Query] = []
        if tokens:
            for name, weight in fields:
                query = self._text_in_field(name, tokens, node.prefix)
                options.append(query if weight == 1.0 else Query.boost_query(query, weight))
            if node.field is None and not negated:
                self._remember_highlight(tokens, node.prefix)
        if node.field is None and isinstance(node, Term) and looks_like_cable_id(node.text):
            options.extend(self._cable_id(node.text))
        return _any(options)

    def _text_in_field(self, name: str, tokens: list[tuple[int, str]], prefix: bool) -> Query:
        start = tokens[0][0]
        words = [(position - start, text) for position, text in tokens]
        if len(words) == 1:
            if prefix:
                return Query.regex_query(self.schema, name, _regex_escape(words[0][1]) + ".*")
            return Query.term_query(self.schema, name, words[0][1])
        if prefix:
            return Query.phrase_prefix_query(self.schema, name, words)
        return Query.phrase_query(self.schema, name, words)

    def _remember_highlight(self, tokens: list[tuple[int, str]], prefix: bool) -> None:
        terms = [text for _position, text in tokens]
        if prefix:
            expansions = self.searcher.terms_with_prefix(
                "body", terms.pop(), limit=PREFIX_HIGHLIGHT_TERMS
            )
            terms.extend(term for term, _count in expansions)
        self.highlight.extend(terms)

    def _cable_id(self, text: str) -> list[Query]:
        """The cable with this reference ID (boosted far above text matches) and
        the cables citing it."""
        ids = sorted(_id_variants(text))
        return [
            Query.boost_query(Query.term_set_query(self.schema, "refid", ids), ID_BOOST),
            Query.term_set_query(self.schema, "references", ids),
        ]

    # -- filters: constant score, so they narrow the results without reordering them

    def _keyword(self, node: Term | Phrase) -> Query | None:
        name = KEYWORD_FIELDS[node.field or ""]
        value = keyword_term(node.text)
        if not value:
            return None
        if node.prefix:
            query = Query.regex_query(self.schema, name, _regex_escape(value) + ".*")
        else:
            query = Query.term_query(self.schema, name, value)
        return Query.const_score_query(query, 0.0)

    def _date(self, node: DateRange) -> Query:
        name = "release_at" if node.field == "released" else "created"
        low = _midnight(node.start)
        high = _midnight(node.end)
        query = Query.range_query(
            self.schema, name, FieldType.Date, low, high, include_upper=high is None
        )
        return Query.const_score_query(query, 0.0)


def _text_fields(node: Term | Phrase) -> tuple[tuple[str, float], ...]:
    """The text fields (with weights) a word or phrase is searched in."""
    return TEXT_FIELDS if node.field is None else (("subject", 1.0),)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else _storable(datetime(day.year, day.month, day.day))


def _any(queries: Sequence[Query | None]) -> Query | None:
    present = [q for q in queries if q is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return Query.boolean_query([(Occur.Should, q) for q in present])


def _without(query: Query) -> Query:
    return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.MustNot, query)])


def _id_variants(text: str) -> set[str]:
    """The ID as typed and in canonical form (zero padding, aliases), folded."""
    variants = {keyword_term(text)}
    try:
        from .ids import canonical_id

        variants.add(keyword_term(canonical_id(text.upper())[0]))
    except Exception:  # noqa: BLE001 - reference data missing: the typed form still works
        pass
    return {v for v in variants if v}


# --------------------------------------------------------------------------- snippets


_SPACES = re.compile(r"\s+")


def _collapse(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Whitespace runs (cable line breaks, indentation) -> one space, across pieces."""
    out: list[tuple[str, bool]] = []
    previous_space = True  # drops leading whitespace
    for text, hit in pieces:
        text = _SPACES.sub(" ", text)
        if previous_space and text.startswith(" "):
            text = text[1:]
        if text:
            out.append((text, hit))
            previous_space = text.endswith(" ")
    if out and out[-1][0].endswith(" "):
        last, hit = out[-1]
        out[-1] = (last[:-1], hit)
    return [(t, h) for t, h in out if t]


def _render(pieces: list[tuple[str, bool]], before: bool, after: bool) -> tuple[str, str, list]:
    pieces = _collapse(pieces)
    if before:
        pieces.insert(0, ("… ", False))
    if after:
        pieces.append((" …", False))
    plain_parts: list[str] = []
    html_parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for text, hit in pieces:
        escaped = html.escape(text)
        if hit:
            spans.append((offset, offset + len(text)))
            escaped = f"<mark>{escaped}</mark>"
        html_parts.append(escaped)
        plain_parts.append(text)
        offset += len(text)
    return "".join(html_parts), "".join(plain_parts), spans


def _lead_snippet(body: str) -> tuple[str, str, list]:
    """The start of the text, when no word of the query is in it."""
    text = " ".join(body[: SNIPPET_CHARS * 3].split())
    cut = len(text) > SNIPPET_CHARS
    if cut:
        text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return _render([(text, False)], False, cut or len(body) > SNIPPET_CHARS * 3)


def _best_passage(
    generator: tantivy.SnippetGenerator, text: str, head_cut: bool, tail_cut: bool
) -> tuple[str, str, list[tuple[int, int]]] | None:
    """The snippet tantivy picks in ``text`` (None when no query word is in it)."""
    masked = tantivy.Document()
    masked.add_text("body", mask_redactions(text))
    snippet = generator.snippet_from_doc(masked)
    hits = snippet.highlighted()
    if not hits:
        return None
    data = text.encode("utf-8")  # snippet ranges are byte offsets; masking kept them
    frag = snippet.fragment_range()
    # Some words of context before the first hit (tantivy starts the fragment on it).
    lead = data[max(0, frag.start - SNIPPET_LEAD * 4) : frag.start].decode("utf-8", "ignore")
    lead = lead[-SNIPPET_LEAD:]
    lead_start = frag.start - len(lead.encode("utf-8"))
    if lead_start > 0 and lead[:1].strip() and len(lead.split(None, 1)) == 2:
        lead = lead.split(None, 1)[1]  # start on a whole word
        lead_start = frag.start - len(lead.encode("utf-8"))
    fragment = data[frag.start : frag.end]
    pieces: list[tuple[str, bool]] = [(lead, False)]
    cursor = 0
    for hit in sorted(hits, key=lambda r: r.start):
        if hit.start < cursor:
            continue
        pieces.append((fragment[cursor : hit.start].decode("utf-8", "ignore"), False))
        pieces.append((fragment[hit.start : hit.end].decode("utf-8", "ignore"), True))
        cursor = hit.end
    pieces.append((fragment[cursor:].decode("utf-8", "ignore"), False))
    return _render(pieces, head_cut or lead_start > 0, tail_cut or frag.end < len(data))


class Snippets:
    """Cuts the snippet of each result: the passage with the most query words.

    tantivy's generator tokenizes the whole text it is given, so in a long body
    it is given a window around the first query word (for words in ASCII; the
    whole body otherwise, or when the window has none). In an ASCII body the
    words are found by str.find in the lower-cased text, standing alone as the
    index's tokens do (letter and digit runs, redaction runs masked): no word
    found there means no word for the generator to find either.
    """

    def __init__(self, searcher: tantivy.Searcher, schema: tantivy.Schema, terms: list[str]):
        self.generator: tantivy.SnippetGenerator | None = None
        self.finder: re.Pattern[str] | None = None
        self.terms = sorted(set(terms), key=len, reverse=True)  # longest first, as the regex
        if not self.terms:
            return
        query = _any([Query.term_query(schema, "body", term) for term in self.terms])
        self.generator = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
        self.generator.set_max_num_chars(SNIPPET_CHARS)
        if all(term.isascii() for term in self.terms):
            words = "|".join(re.escape(term) for term in self.terms)
            self.finder = re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE)

    def make(self, body: str) -> tuple[str, str, list[tuple[int, int]]]:
        """(html, plain, highlight spans) of the best passage of ``body``."""
        if self.generator is None or not body:
            return _lead_snippet(body)
        if self.finder is not None and len(body) > SNIPPET_WINDOW:
            if body.isascii():
                hit = _first_word(body, body.lower(), self.terms)
                if hit is None:
                    return _lead_snippet(body)
            else:
                found = self.finder.search(body)
                hit = None if found is None else found.span()
            if hit is not None:
                start, end = _window(body, *hit)
                passage = _best_passage(self.generator, body[start:end], start > 0, end < len(body))
                if passage is not None:
                    return passage
        return _best_passage(self.generator, body, False, False) or _lead_snippet(body)


def _first_word(text: str, lowered: str, words: list[str]) -> tuple[int, int] | None:
    """(start, end) of the first of ``words`` in ``lowered`` (``text``
    lower-cased, same length) standing alone: not inside a longer run of
    letters and digits, a redaction run (3+ X) counting as a gap, since the
    index masks those that touch a word. At one place, the first word listed.

    A str.find per word: much faster than one regex of alternatives, which
    cannot skip ahead to a literal. Never misses a word the index has there;
    may take a word touching a redaction run for one (the window then has no
    hit and the caller falls back to the whole body).
    """
    best: tuple[int, int] | None = None
    size = len(lowered)
    for word in words:
        start = lowered.find(word)
        while start != -1 and (best is None or start < best[0]):
            end = start + len(word)
            if (start == 0 or not text[start - 1].isalnum() or text.endswith("XXX", 0, start)) and (
                end == size or not text[end].isalnum() or text.startswith("XXX", end)
            ):
                best = (start, end)
                break
            start = lowered.find(word, start + 1)
    return best


def _window(text: str, hit_start: int, hit_end: int) -> tuple[int, int]:
    """About SNIPPET_WINDOW characters around a hit, cut at whitespace (no half words)."""
    start = max(0, hit_start - SNIPPET_WINDOW // 3)
    end = min(len(text), start + SNIPPET_WINDOW)
    while 0 < start < hit_start and not text[start - 1].isspace():
        start += 1
    while hit_end < end < len(text) and not text[end].isspace():
        end -= 1
    return start, end


# --------------------------------------------------------------------------- the index


# The writer's memory budget: a segment is flushed when it is used up (tantivy
# takes it as it fills, so a small sync uses little of it). 256 MB makes ~50,000
# documents per segment, so a full cables.csv (251,287) ingest ends with 6
# segments, fewer than the 8 tantivy's merge policy waits for: no merge runs
# during it. Merges map every segment file they read; at 128 MB (~22,000 per
# segment) they took the ingest's summed RSS to 2.3 GB, at 256 MB it peaks at
# 0.9 GB and runs 7 % faster; searches pay ~0.8 ms at the median for the
# extra segments (docs/performance.md, Ingest, session 6).
WRITER_HEAP = 256_000_000


class SearchIndex:
    """A tantivy index of public cable documents in the directory ``path``.

    Opening creates the directory and an empty index when needed. Writing
    (``upsert``, ``delete``, ``clear``) takes tantivy's writer lock, held until
    ``close()``: one writing process per directory at a time (another gets
    ``SearchIndexError``); any number of processes may search meanwhile and
    see each commit. ``commit(last_seq)`` persists the changes, then records
    ``last_seq``, the last change-log seq applied: a crash between the two
    leaves an older ``last_seq``, so a sync repeats a little (idempotent) work.
    An index made by an older schema version is discarded and starts empty
    (``last_seq`` 0): sync or rebuild refills it.
    """

    # One writer thread: each flush makes one segment, not one per thread, and
    # facet counts cost per segment (a 251,287-cable index of 5 segments
    # counted facets ~30 % faster than one of 14 made by 2 threads;
    # docs/performance.md). Indexing runs on that thread beside the caller's.
    def __init__(
        self, path: str | os.PathLike, *, writer_heap: int = WRITER_HEAP, writer_threads: int = 1
    ) -> None:
        self.path = Path(path)
        self.writer_heap = writer_heap
        self.writer_threads = writer_threads
        self._open_directory()
        self._schema = index_schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        except (OSError, ValueError) as err:
            raise SearchIndexError(f"cannot open the search index at {self.path}: {err}") from err
        self._index.register_tokenizer(_CABLE_ANALYZER, cable_analyzer())
        self._index.register_tokenizer(_KEYWORD_ANALYZER, keyword_analyzer())
        self._writer: tantivy.IndexWriter | None = None
        self._seen_meta = self._meta_stamp()
        self._all_months: tuple[Any, dict[str, int]] | None = None  # (meta stamp, counts)
        self._fresh: bool | None = None  # the index was empty when this writer started
        self._added: set[str] = set()
        self._cleared = False
        self._uncommitted = False  # changes made since the last commit

    # -- directory and metadata

    @staticmethod
    def exists(path: str | os.PathLike) -> bool:
        """Whether ``path`` holds a cablegate search index."""
        return (Path(path) / META_FILE).is_file()

    def _open_directory(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        meta = self._read_meta()
        if meta is None:
            foreign = {p.name for p in self.path.iterdir()} - _COMPANION_FILES
            if foreign:
                raise SearchIndexError(
                    f"{self.path} is not a cablegate search index and is not empty"
                )
            self._write_meta(0)
        elif meta.get("schema_version") != SCHEMA_VERSION:
            # Derived data in an old layout: start again; sync/rebuild refills it.
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self._write_meta(0)

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / META_FILE).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise SearchIndexError(f"unreadable {META_FILE} in {self.path}: {err}") from err

    def _write_meta(self, last_seq: int) -> None:
        replace_file(self.path / META_FILE,
                     json.dumps({"schema_version": SCHEMA_VERSION, "last_seq": last_seq}))

    def _meta_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = (self.path / "meta.json").stat()  # tantivy rewrites it on every commit
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_ino, stat.st_size

    def _refresh(self) -> None:
        """See every commit made so far, by any process (tantivy's own reload lags ~0.5 s)."""
        stamp = self._meta_stamp()
        if stamp == self._seen_meta:
            return
        # Another process's writer can commit a merge and delete the merged
        # segments' files between our reading meta.json and opening them (its
        # garbage collection knows only its own readers): read again.
        for attempt in range(_RELOAD_ATTEMPTS):
            try:
                self._index.reload()
                break
            except (OSError, ValueError) as err:
                if attempt == _RELOAD_ATTEMPTS - 1:
                    raise SearchIndexError(
                        f"cannot reload the search index at {self.path}: {err}"
                    ) from err
                time.sleep(0.02 * (attempt + 1))
                stamp = self._meta_stamp()
        self._seen_meta = stamp

    @property
    def last_seq(self) -> int:
        """The last change-log seq applied (committed); 0 for a new index."""
        meta = self._read_meta() or {}
        return int(meta.get("last_seq") or 0)

    @property
    def num_docs(self) -> int:
        """Documents in the index, released or not (for stats and tests)."""
        self._refresh()
        return self._index.searcher().num_docs

    # -- writing

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(self.writer_heap, self.writer_threads)
            except ValueError as err:
                raise SearchIndexError(
                    f"the search index at {self.path} is being written by another process "
                    f"(or another SearchIndex in this one): {err}"
                ) from err
            self._fresh = self._index.searcher().num_docs == 0
            self._added = set()
        return self._writer

    def upsert(self, docs: Iterable[dict[str, Any]]) -> None:
        """Add or replace documents (by ``reference_id``); visible after ``commit``.

        Each item is a ``document_from_record`` dict or a public record (whose
        ``released`` is its release time).
        """
        writer = self._get_writer()
        self._uncommitted = True
        for doc in docs:
            doc = _as_index_document(doc)
            refid = doc["reference_id"]
            # In an index that was empty, only IDs added since need replacing:
            # skipping the other deletes makes a full build cheaper.
            if not self._fresh or refid in self._added:
                writer.delete_documents_by_term("reference_id", refid)
            if self._fresh:
                self._added.add(refid)
            writer.add_document(_tantivy_document(doc))

    def delete(self, reference_ids: Iterable[str]) -> None:
        """Remove documents by reference ID; visible after ``commit``."""
        writer = self._get_writer()
        self._uncommitted = True
        for refid in reference_ids:
            writer.delete_documents_by_term("reference_id", refid)
            self._added.discard(refid)

    def clear(self) -> None:
        """Remove every document (for a rebuild); visible after ``commit``."""
        writer = self._get_writer()
        self._uncommitted = True
        writer.delete_all_documents()
        self._fresh = True
        self._added = set()
        self._cleared = True

    def commit(self, last_seq: int | None = None) -> None:
        """Persist pending changes, then record ``last_seq`` (kept when None;
        0 after ``clear``). Searches see the changes from now on."""
        if self._writer is not None:
            self._writer.commit()
            self._uncommitted = False
            self._index.reload()
            self._seen_meta = self._meta_stamp()
        if last_seq is None:
            last_seq = 0 if self._cleared else self.last_seq
        self._cleared = False
        self._write_meta(int(last_seq))

    def close(self) -> None:
        """Release the writer lock (uncommitted changes are dropped), after merges finish.

        tantivy merges segments after each commit, on its own threads; a
        rollback would cancel those merges too, so it is done only when there
        is something uncommitted to drop. Otherwise every writer's last commit
        would leave its small segments unmerged, and they would pile up (facet
        counts cost per segment)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            if self._uncommitted:
                writer.rollback()
            self._uncommitted = False
            writer.wait_merging_threads()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- searching

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: str = "relevance",
        now: datetime | None = None,
        facets: bool = True,
        facet_limit: int | None = FACET_LIMIT,
    ) -> SearchResult:
        """Run ``query`` (the language of docs/search.md) over the documents
        released at ``now`` (default: the current UTC time; naive = UTC).

        ``sort``: relevance, created (oldest first), -created (newest first),
        released (earliest release first), -released (latest first). A query
        that is just a reference ID lists that cable first under any sort.
        Raises ``query.QuerySyntaxError`` (a ValueError) for invalid syntax and
        ValueError for a bad limit, offset or sort.
        """
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        if not 0 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 0 and {MAX_LIMIT}")
        if offset < 0:
            raise ValueError("offset must be 0 or more")
        tree = parse(query)
        self._refresh()
        searcher = self._index.searcher()
        compiler = _Compiler(self._schema, searcher, lambda: self._months_of_all(searcher))
        matched = Query.all_query() if tree is None else compiler.compile(tree)
        if matched is None:  # only words that are not indexed (e.g. XXXXXXXX)
            matched = Query.empty_query()
        unreleased = self._unreleased_at(now)
        final = Query.boolean_query([(Occur.Must, matched), (Occur.MustNot, unreleased)])
        pinned = self._pinned(searcher, query, unreleased) if tree is not None else None
        # tantivy releases the GIL: the counts are made on another core while
        # this thread finds the top hits, loads them and cuts their snippets.
        counting = None
        if facets:
            size = searcher.num_docs if tree is None else compiler.estimate(tree)
            counting = _Counting(self, searcher, final, size, facet_limit)
        total, hits = self._top(searcher, final, pinned, limit, offset, sort)
        snippets = Snippets(searcher, self._schema, compiler.highlight)
        results = [self._hit(searcher, address, score, snippets) for score, address in hits]
        facet_counts, histogram = counting.result() if counting is not None else ({}, {})
        return SearchResult(query, total, results, facet_counts, histogram, offset, limit, sort)

    def _months_of_all(self, searcher: tantivy.Searcher) -> dict[str, int]:
        """Documents created per YYYY-MM, released or not: counted once per
        version of the index (for estimates, so the release gate is moot)."""
        if self._all_months is None or self._all_months[0] != self._seen_meta:
            counts = self._count_columns(searcher, Query.all_query(), ["month"])["month"]
            self._all_months = (self._seen_meta, counts)
        return self._all_months[1]

    def _unreleased_at(self, now: datetime | None) -> Query:
        """The documents whose release time is after ``now`` (to the second).

        Excluding these (MustNot) rather than requiring "released" keeps the
        gate's cost proportional to the few scheduled documents: the range runs
        on the inverted index of release times, not over every document.
        """
        moment = parse_time(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)
        # Clamped below the latest storable time: a release clamped there never arrives.
        moment = min(_storable(moment), _LATEST - timedelta(days=1)).replace(microsecond=0)
        return Query.range_query(
            self._schema,
            "release_at",
            FieldType.Date,
            moment,
            None,
            include_lower=False,
            use_inverted_index=True,
        )

    def _pinned(self, searcher: tantivy.Searcher, query: str, unreleased: Query) -> Query | None:
        """The query matching the one cable a reference-ID query names, if released."""
        refid = cable_id(query)
        if refid is None:
            return None
        exact = Query.term_set_query(self._schema, "refid", sorted(_id_variants(refid)))
        pinned = Query.boolean_query([(Occur.Must, exact), (Occur.MustNot, unreleased)])
        return pinned if searcher.search(pinned, 1).count else None

    def _top(
        self,
        searcher: tantivy.Searcher,
        final: Query,
        pinned: Query | None,
        limit: int,
        offset: int,
        sort: str,
    ) -> tuple[int, list[tuple[Any, tantivy.DocAddress]]]:
        """(total, the hits of the page) under ``sort``."""
        if pinned is None:
            return self._sorted(searcher, final, limit, offset, sort)
        # The named cable is result 1 under every sort; the rest follow in order.
        rest = Query.boolean_query([(Occur.Must, final), (Occur.MustNot, pinned)])
        if offset == 0:
            total, tail = self._sorted(searcher, rest, max(limit - 1, 0), 0, sort)
            head = searcher.search(pinned, 1).hits[:limit]
            return total + 1, [(None, address) for _score, address in head] + tail
        total, page = self._sorted(searcher, rest, limit, offset - 1, sort)
        return total + 1, page

    @staticmethod
    def _sorted(
        searcher: tantivy.Searcher, query: Query, limit: int, offset: int, sort: str
    ) -> tuple[int, list[tuple[Any, tantivy.DocAddress]]]:
        # tantivy needs a limit of at least 1; a page of 0 still gets the count.
        size = max(limit, 1)
        if sort == "relevance":
            found = searcher.search(query, size, count=True, offset=offset)
            return found.count, found.hits[:limit]
        name = "release_at" if sort.endswith("released") else "created"
        order = Order.Desc if sort.startswith("-") else Order.Asc
        found = searcher.search(
            query, size, count=True, offset=offset, order_by_field=name, order=order
        )
        return found.count, [(None, address) for _key, address in found.hits[:limit]]

    @staticmethod
    def _hit(
        searcher: tantivy.Searcher,
        address: tantivy.DocAddress,
        score: Any,
        snippets: Snippets,
    ) -> SearchHit:
        document = searcher.doc(address)
        stored = jsoncodec.loads(document.get_first("stored"))
        body = bytes(document.get_first("body_text") or b"").decode("utf-8")
        snippet_html, snippet_text, spans = snippets.make(body)
        return SearchHit(
            reference_id=stored["reference_id"],
            subject=stored.get("subject"),
            created=stored.get("created"),
            released=stored.get("released"),
            origin=stored.get("origin"),
            classification=stored.get("classification"),
            tags=stored.get("tags") or [],
            snippet=snippet_html,
            snippet_text=snippet_text,
            highlights=spans,
            score=score if isinstance(score, float) else None,
        )

    def _count_columns(
        self, searcher: tantivy.Searcher, query: Query, names: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """Exact counts per value of the fast columns ``names`` over everything
        ``query`` matches: one aggregation pass."""
        spec = {
            name: {"terms": {"field": name, "size": _ALL_BUCKETS, "segment_size": _ALL_BUCKETS}}
            for name in names
        }
        answer = searcher.aggregate(query, spec)
        return {
            name: {b["key"]: int(b["doc_count"]) for b in answer[name]["buckets"]}
            for name in names
        }

    def _count_tags_by_dictionary(
        self, searcher: tantivy.Searcher, query: Query, facet_limit: int | None
    ) -> dict[str, int]:
        """Tags are many per cable: reading them per matching document costs
        more than walking the tag dictionary once a result set is large."""
        pairs = searcher.terms_with_prefix("tag", "", filter_query=query, limit=facet_limit)
        return {term: count for term, count in pairs if count}

    def _count_all(
        self, searcher: tantivy.Searcher, query: Query, size: int, facet_limit: int | None
    ) -> dict[str, dict[str, int]]:
        """Every facet's counts in as few passes over the result set as can be,
        for a query matching about ``size`` documents."""
        if size > TAGS_BY_DICTIONARY_ABOVE:
            counts = self._count_columns(searcher, query, _SINGLE_VALUED)
            counts["tag"] = self._count_tags_by_dictionary(searcher, query, facet_limit)
            return counts
        return self._count_columns(searcher, query, [*_SINGLE_VALUED, "tag"])


class _Counting:
    """The facet counts and monthly histogram of one search, made beside it.

    The counts are exact over the whole result set and cost more than the
    page of hits with its snippets, so they start first, on a counting thread,
    in one pass over the result set, while the search thread finds and renders
    the page (docs/performance.md). ``size``, an estimate of how many
    documents the query matches (the total is not known yet), chooses how the
    tags are counted; the counts are exact either way.
    """

    def __init__(
        self,
        index: SearchIndex,
        searcher: tantivy.Searcher,
        query: Query,
        size: int,
        facet_limit: int | None,
    ) -> None:
        self.facet_limit = facet_limit
        self.job = _facet_pool().submit(index._count_all, searcher, query, size, facet_limit)

    def result(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """(facets: kind -> value -> count, most frequent first; histogram: YYYY-MM -> count)."""
        counts = self.job.result()
        histogram = dict(sorted(counts.pop("month").items()))
        years: dict[str, int] = {}
        for month, count in histogram.items():
            years[month[:4]] = years.get(month[:4], 0) + count
        counts["year"] = years
        facets = {kind: _top_values(counts[kind], self.facet_limit) for kind in FACETS}
        return facets, histogram


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _facet_pool() -> ThreadPoolExecutor:
    """The counting threads of this process, one per core, so that searches
    running at once on a server's threads do not queue behind one counter
    (made again in a forked child, whose copy of the parent's pool has no thread)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        threads = os.cpu_count() or 2
        _POOL = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="cablegate-facets"))
    return _POOL[1]


def _top_values(counts: dict[str, int], limit: int | None) -> dict[str, int]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return dict(ordered[:limit] if limit else ordered)
