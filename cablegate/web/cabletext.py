"""The header and body boxes of a cable page: the cable's own text, escaped,
with the record's structure laid on top.

The text is never reflowed: every character of the published text appears in
the box, in order, HTML-escaped. What is added are elements around spans of it
(``<abbr>`` for routing indicators and markings, ``<time>`` for the DTG, links
for TAGS and REF items, the ¶ link before each numbered paragraph), so the box
keeps the cable's monospace layout and copying it gives the cable text back
(apart from the ¶ signs, as on the original site).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from markupsafe import Markup, escape

from .. import ids

MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}

# The look-behind comes after the leading R so that the regex engine scans for an R
# (a literal prefix) instead of trying the pattern at every offset: same matches,
# ~30x less work on a header.
_RI = re.compile(r"R(?<![A-Z0-9]R)[A-Z]{3,6}(?![A-Z0-9])")
_DTG = re.compile(
    r"(?P<prec>[ZOPRYW])(?: (?P<info>[ZOPRYW]))? (?P<day>\d{2})(?P<hour>\d{2})(?P<minute>\d{2})Z"
    r" (?P<month>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC) (?P<year>\d{2})(?![0-9])"
)
_DTG_LINE = re.compile(r"^[ \t]*" + _DTG.pattern, re.M)
_FM_LINE = re.compile(r"^FM (?P<pla>[^\n]+?)[ \t]*$", re.M)
_SECURITY_LINE = re.compile(r"^(ZN[YR]) ([UCSTE])\2{4}", re.M)
# A numbered paragraph's start line: ``_PARA_START`` at offset 0, ``_PARA_START_NL``
# (its newline included) after it. ``^`` with re.M has no literal prefix, so the
# engine would try the pattern at every offset of an 8 KB body; a leading "\n"
# lets it scan for newlines. The matches (and their "num" groups) are the same.
_PARA_START = re.compile(r"[ \t]*(?P<num>\d{1,3})[ \t]*\.")
_PARA_START_NL = re.compile(r"\n" + _PARA_START.pattern)
_MARKING_AFTER = re.compile(r"[ \t]*(\((?P<mark>[A-Z/ ]{1,20})\))")
_TAGS_LINE = re.compile(r"^[ \t]*TAGS?\s*:?", re.M | re.I)
_SUBJECT_LINE = re.compile(r"^[ \t]*(SUBJ(?:ECT)?\b|REF|$)", re.M | re.I)
_REF_LINE = re.compile(r"^[ \t]*(REFS?\b|REFTELS?\b|REFERENCES?\b)[^\n]*", re.M | re.I)
_REF_ITEM = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<yy>\d{2}|19\d{2}|20\d{2})[ \t]+)?"
    r"(?P<name>[A-Za-z][A-Za-z ]{0,40}?)[ \t]+0*(?P<serial>\d{1,7})(?![0-9])"
)
_REDACTION = re.compile(r"XXXXXX+")  # X{6,}, spelled with a literal prefix (scanned fast)
_CLASSIFICATION_WORDS = {"U": "UNCLASSIFIED", "C": "CONFIDENTIAL", "S": "SECRET", "T": "TOP SECRET"}


class Span(NamedTuple):
    """Markup around ``text[start:end]`` (or inserted at ``start`` when empty).

    A named tuple (immutable, ordered by its fields like the frozen, ordered
    dataclass it was): built and sorted in C, ~100 per cable page."""

    start: int
    end: int
    before: str
    after: str = ""


def escape_text(text: str) -> str:
    """What ``str(markupsafe.escape(text))`` gives, without a Markup object per
    piece (a cable page escapes ~90 pieces: that was a tenth of its render)."""
    return (text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


# What escape_text writes for each character it changes.
_ENTITIES = {"&": "&amp;", ">": "&gt;", "<": "&lt;", "'": "&#39;", '"': "&#34;"}


def render(text: str, spans: Iterable[Span]) -> Markup:
    """``text`` escaped, with non-overlapping spans' markup around their ranges.

    The text is escaped once, whole, and cut at the spans' offsets moved by what
    escaping added before them: escaping works character by character, so a
    piece of the escaped text is the escaped piece (escaping every piece on its
    own cost ten string scans per span, ~100 spans a page).
    """
    marks = _escaped_characters(text)
    escaped, at = _escape_at(text, marks) if marks else (text, None)
    out: list[str] = []
    pos = done = 0  # in text, in escaped
    for span in sorted(spans):
        if span.start < pos:  # overlaps an earlier span: keep the text plain
            continue
        start, end = (span.start, span.end) if at is None else (at(span.start), at(span.end))
        out.append(escaped[done:start])
        out.append(span.before)
        out.append(escaped[start:end])
        out.append(span.after)
        pos, done = span.end, end
    out.append(escaped[done:])
    return Markup("".join(out))  # noqa: S704 - every piece of text escaped above


def _escaped_characters(text: str) -> list[int]:
    """Offsets of the characters escape_text changes, in order (str.find per
    character: a regex scan of an 8 KB body cost twice the whole escaping)."""
    marks: list[int] = []
    for char in _ENTITIES:
        at = text.find(char)
        while at >= 0:
            marks.append(at)
            at = text.find(char, at + 1)
    marks.sort()
    return marks


def _escape_at(text: str, marks: list[int]) -> tuple[str, Callable[[int], int]]:
    """(escape_text(text), offset in text -> the same place in it), given the
    offsets of the characters that escaping changes."""
    pieces: list[str] = []
    growth = [0]  # growth[i]: characters added by escaping the first i marks
    done = 0
    for at in marks:
        entity = _ENTITIES[text[at]]
        pieces.append(text[done:at])
        pieces.append(entity)
        growth.append(growth[-1] + len(entity) - 1)
        done = at + 1
    pieces.append(text[done:])

    def moved(offset: int) -> int:
        return offset + growth[bisect_left(marks, offset)]

    return "".join(pieces), moved


def _abbr(start: int, end: int, title: str | None, cls: str | None = None) -> Span:
    return Span(start, end, _abbr_open(title, cls), "</abbr>")


@lru_cache(maxsize=4096)
def _abbr_open(title: str | None, cls: str | None) -> str:
    """The opening tag of an ``<abbr>`` (the same few hundred titles on every page)."""
    attrs = f' title="{escape_text(title)}"' if title else ""
    attrs += f' class="{cls}"' if cls else ""
    return f"<abbr{attrs}>"


# --------------------------------------------------------------------------- DTG


def dtg_datetime(dtg: str | None, fallback_year: int | None = None) -> datetime | None:
    """``140319Z MAY 07`` (or ``O 140319Z MAY 07``) -> 2007-05-14 03:19 (UTC)."""
    if not dtg:
        return None
    match = re.search(
        r"(\d{2})(\d{2})(\d{2})Z\s+(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\s+(\d{2,4})",
        dtg.upper(),
    )
    if not match:
        return None
    day, hour, minute, month, year = match.groups()
    y = int(year)
    if len(year) == 2:
        y += 1900 if y >= 40 else 2000
    try:
        return datetime(y, MONTHS[month], int(day), int(hour), int(minute))
    except ValueError:
        return None


def _time_span(match: re.Match, offset: int = 0) -> list[Span]:
    spans: list[Span] = []
    name = ids.precedence_name(match["prec"])
    spans.append(_abbr(match.start("prec") + offset, match.end("prec") + offset, name))
    if match["info"]:
        info = ids.precedence_name(match["info"])
        spans.append(
            _abbr(
                match.start("info") + offset,
                match.end("info") + offset,
                f"{info} (info addressees)",
            )
        )
    when = dtg_datetime(match.group(0))
    start, end = match.start("day") + offset, match.end("year") + offset
    if when is not None:
        iso = when.strftime("%Y-%m-%dT%H:%MZ")
        title = f"{when.day} {when:%B %Y, %H:%M} UTC"
        spans.append(Span(start, end, f'<time datetime="{iso}" title="{title}">', "</time>"))
    return spans


# --------------------------------------------------------------------------- header


def header_spans(header: str) -> list[Span]:
    """Annotations of the transmission header: posts, precedence, DTG, security line."""
    spans: list[Span] = []
    for match in _RI.finditer(header):
        name = ids.routing_name(match.group(0))
        if name:
            spans.append(_abbr(match.start(), match.end(), name, "ri"))
    for match in _DTG_LINE.finditer(header):
        spans.extend(_time_span(match))
    for match in _FM_LINE.finditer(header):
        code = ids.code_for_address(match["pla"])
        name = ids.origin_name(code, confirmed_only=False) if code else None
        if name:
            spans.append(_abbr(match.start("pla"), match.end("pla"), name))
    for match in _SECURITY_LINE.finditer(header):
        level = _CLASSIFICATION_WORDS.get(match.group(2), "")
        spans.append(_abbr(match.start(), match.end(), f"security line: {level}".strip()))
    return spans


def render_header(header: str | None) -> Markup:
    return render(header or "", header_spans(header or ""))


@dataclass
class Addressee:
    text: str  # as written, e.g. "RUEHC/SECSTATE WASHDC IMMEDIATE 8524"
    routing_indicator: str | None
    name: str  # the post or office, for readers


_ADDRESSEE = re.compile(r"(?:TO |INFO )?(R[A-Z]{3,6})/(.+)")
_ADDRESSEE_TAIL = re.compile(r"\s+(NIACT IMMEDIATE|FLASH|IMMEDIATE|PRIORITY|ROUTINE)?\s*\d{0,4}$")


def decode_addressee(line: str) -> Addressee:
    """A TO/INFO entry as a reader-friendly name (routing indicator -> post)."""
    return Addressee(*_decoded_addressee(line))


@lru_cache(maxsize=8192)
def _decoded_addressee(line: str) -> tuple[str, str | None, str]:
    """(text, routing indicator, name) of an addressee line, a pure function of it:
    about half the lines of a thousand pages are repeats (SECSTATE WASHDC...)."""
    text = " ".join(line.split())
    match = _ADDRESSEE.match(text)
    if not match:
        return text, None, text
    ri, pla = match.groups()
    pla = _ADDRESSEE_TAIL.sub("", pla)
    name = ids.routing_name(ri) or pla
    return text, ri, name


# --------------------------------------------------------------------------- body


def paragraph_positions(body: str, numbers: list[int]) -> list[tuple[int, int, re.Match]]:
    """(number, offset, match) of each numbered paragraph's start line, in order.

    Only the record's paragraph numbers are anchored, in sequence, so a line
    that merely starts with a number ("1993 was...") gets no false anchor; with
    no paragraph list, numbers must run 1, 2, 3...
    """
    found: list[tuple[int, int, re.Match]] = []
    expected = iter(numbers) if numbers else None
    want: int | None = next(expected, None) if expected else 1
    for match in _paragraph_starts(body):
        if want is None:
            break
        num = int(match["num"])
        if num != want:
            continue
        found.append((num, match.start("num"), match))
        want = next(expected, None) if expected else want + 1
    return found


def _paragraph_starts(body: str) -> Iterator[re.Match]:
    """Matches of a numbered start at the start of each line of ``body``, in order."""
    first = _PARA_START.match(body)
    if first:
        yield first
    yield from _PARA_START_NL.finditer(body)


def paragraph_numbers(record: dict) -> list[int]:
    numbers: list[int] = []
    for para in record.get("paragraphs") or []:
        num = para.get("number") if isinstance(para, dict) else None
        if isinstance(num, int) or (isinstance(num, str) and num.isdigit()):
            if not numbers or int(num) > numbers[-1]:
                numbers.append(int(num))
    return numbers


def _paragraph_spans(body: str, numbers: list[int]) -> list[Span]:
    markings = ids.reference_data().get("paragraph_markings", {})
    spans = []
    for num, offset, match in paragraph_positions(body, numbers):
        spans.append(Span(offset, offset, f'<a id="par{num}" href="#par{num}" class="par">¶</a>'))
        mark = _MARKING_AFTER.match(body, match.end())
        if mark:
            code = " ".join(mark["mark"].split())
            title = markings.get(code) or markings.get(code.replace("//", "/"))
            if title:
                spans.append(_abbr(mark.start(1), mark.end(1), title, "mark"))
    return spans


def _region(
    body: str, start_re: re.Pattern, end_re: re.Pattern, limit: int = 1500
) -> tuple[int, int] | None:
    match = start_re.search(body)
    if not match:
        return None
    start = match.start()
    end_match = end_re.search(body, match.end() + 1)
    end = end_match.start() if end_match else len(body)
    return start, min(end, start + limit)


def _tag_spans(
    body: str, tags: list[str], tag_link: Callable[[str], tuple[str, str | None]]
) -> list[Span]:
    region = _region(body, _TAGS_LINE, _SUBJECT_LINE, limit=600)
    if not region or not tags:
        return []
    spans = []
    pos, end = region[0] + 5, region[1]
    upper = body[:end].upper()
    for tag in tags:
        # str.find, not a regex per tag: compiling one per tag per page was a hot spot.
        start = _find_word(upper, tag.upper(), pos, end)
        if start < 0:
            continue
        stop = start + len(tag)
        spans.append(Span(start, stop, _tag_open(*tag_link(tag)), "</a>"))
        pos = stop
    return spans


@lru_cache(maxsize=4096)
def _tag_open(href: str, title: str | None) -> str:
    """The opening tag of a TAGS link (the same few hundred tags on every page)."""
    attrs = f' title="{escape_text(title)}"' if title else ""
    return f'<a href="{escape_text(href)}"{attrs}>'


def _find_word(text: str, word: str, start: int, end: int) -> int:
    """Offset of ``word`` in ``text[start:end]`` not inside a longer word, or -1."""
    while word:
        at = text.find(word, start, end)
        if at < 0:
            return -1
        before = text[at - 1] if at > 0 else " "
        after = text[at + len(word)] if at + len(word) < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return at
        start = at + 1
    return -1


def ref_item_ids(text: str, default_year: str | None) -> list[tuple[int, int, str]]:
    """(start, end, canonical ID) of each cable reference written in a REF block."""
    found = []
    for match in _REF_ITEM.finditer(text):
        words = match["name"].split()
        # "AND MOSCOW 56", "A. STATE 1234": try the longest tail that names a post.
        for i in range(len(words)):
            name = " ".join(words[i:])
            refid = ids.make_id(match["yy"] or default_year, name, match["serial"])
            if refid:
                start = (
                    match.start("yy") if match["yy"] and i == 0 else _word_start(match, words, i)
                )
                found.append((start, match.end(), refid))
                break
    return found


def _word_start(match: re.Match, words: list[str], index: int) -> int:
    name_start = match.start("name")
    offset = 0
    segment = match["name"]
    for word in words[:index]:
        offset = segment.index(word, offset) + len(word)
    return name_start + segment.index(words[index], offset)


def _ref_spans(
    body: str, first_para: int, year: str | None, ref_link: Callable[[str], tuple[str, str]] | None
) -> list[Span]:
    if ref_link is None:
        return []
    match = _REF_LINE.search(body, 0, first_para if first_para else len(body))
    if not match:
        return []
    start = match.start()
    end = first_para if first_para > start else min(len(body), start + 800)
    end = min(end, start + 800)
    spans = []
    for s, e, refid in ref_item_ids(body[start:end], year):
        href, title = ref_link(refid)
        if href:
            spans.append(
                Span(
                    start + s,
                    start + e,
                    f'<a href="{escape(href)}" title="{escape(title)}">',
                    "</a>",
                )
            )
        else:
            spans.append(
                Span(
                    start + s,
                    start + e,
                    f'<span class="missing" title="{escape(title)}">',
                    "</span>",
                )
            )
    return spans


def body_spans(
    body: str,
    record: dict,
    tag_link: Callable[[str], tuple[str, str | None]],
    ref_link: Callable[[str], tuple[str, str]] | None = None,
) -> list[Span]:
    numbers = paragraph_numbers(record)
    spans = _paragraph_spans(body, numbers)
    first_para = spans[0].start if spans else 0
    spans += _tag_spans(body, list(record.get("tags") or []), tag_link)
    year = (record.get("reference_id") or "")[:2]
    spans += _ref_spans(body, first_para, year if year.isdigit() else None, ref_link)
    for match in _REDACTION.finditer(body):
        spans.append(
            Span(match.start(), match.end(), '<span class="redacted" title="redacted">', "</span>")
        )
    return spans


def render_body(
    body: str | None,
    record: dict,
    tag_link: Callable[[str], tuple[str, str | None]],
    ref_link: Callable[[str], tuple[str, str]] | None = None,
) -> Markup:
    text = body or ""
    return render(text, body_spans(text, record, tag_link, ref_link))


def render_diff(pieces: Iterable[tuple[str, str]]) -> Markup:
    """A word diff as ``<del>``/``<ins>`` inside the text (escaped)."""
    out = []
    for op, text in pieces:
        if op == "insert":
            out.append(f"<ins>{escape(text)}</ins>")
        elif op == "delete":
            out.append(f"<del>{escape(text)}</del>")
        else:
            out.append(str(escape(text)))
    return Markup("".join(out))


_WORDS = re.compile(r"\S+\s*|\s+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] (equal/insert/delete) between two cable texts, word by word.

    Lines are matched first and words only within changed runs of lines, so a
    long cable with a few changes costs milliseconds (a word-level
    SequenceMatcher over a whole cable, whitespace tokens included, takes
    seconds). Equal+delete pieces spell ``old``, equal+insert spell ``new``.
    """
    import difflib

    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    pieces: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if text:
            if pieces and pieces[-1][0] == op:
                pieces[-1] = (op, pieces[-1][1] + text)
            else:
                pieces.append((op, text))

    lines = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in lines.get_opcodes():
        if op == "equal":
            add("equal", "".join(a[i1:i2]))
            continue
        wa, wb = _WORDS.findall("".join(a[i1:i2])), _WORDS.findall("".join(b[j1:j2]))
        words = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
        for wop, k1, k2, m1, m2 in words.get_opcodes():
            if wop == "equal":
                add("equal", "".join(wa[k1:k2]))
            else:
                add("delete", "".join(wa[k1:k2]))
                add("insert", "".join(wb[m1:m2]))
    return pieces
