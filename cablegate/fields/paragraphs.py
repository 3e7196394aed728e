"""Paragraphs ``{number, marking, text}`` and the section headings between
them (docs/parsing.md, "Paragraphs, summary, signers")."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from .common import MARK_ONLY_RE, MAX_CANDIDATES

_MAX_PARAGRAPHS = 2_000

# A paragraph number at a line start, searched over the whole text. The
# pattern opens with the literal newline so that re's search skips to each
# line; it is then tried at every newline of every cable, so the look-ahead
# turns the nine lines in ten that open with a letter away before anything
# costlier, and "(?:X|)" stands for "(?:X)?", which re runs faster (it treats
# an optional group as a repeat).
_PARA_START_RE = re.compile(
    r"\n(?=[ \t\n\d])(?:(?P<blank>[ \t]*\n)|)[ \t]*(\d{1,3})[ \t]*(?:[.)]|\.\.)(?=[ \t(\n]|$)[ \t]*"
    r"(?:\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*|)"
)

_MARKING_RE = re.compile(
    r"(?:TS|S|C|U|SBU|LOU|FOUO|SNF|CNF|CUI)(?:\s*(?:/{1,2}|-|,|\s)\s*[A-Z][A-Z ,/.-]{0,34}|)"
)

_UNDERLINE_RE = re.compile(r"(?:[-=_][ \t]?){3,}")

_DASH_RUN_RE = re.compile(r"[-=_]{3,}")

_TITLE_UNDERLINE_RE = re.compile(  # "Military Modernization -----", "------- SUMMARY -------"
    r"(?:[-=_]{3,}[ \t]*)?(?P<title>[^\s=_-][^\n]{0,99}?)[ \t]+[-=_]{3,}[ \t]*"
)

_INLINE_HEADING_RE = re.compile(
    r"[ \t][-=_]{3,}[ \t]*(?P<title>[A-Za-z][^\n=_]{0,80}?)[ \t]+[-=_]{3,}[ \t]*$"
)

# Paragraphs run together on one line (flattened pages): "(d) 1. (C) Summary: ..."
_INLINE_PARA_RE = re.compile(r"\.[ \t]{1,4}\((?P<mark>[A-Za-z/ -]{1,20})\)[ \t]")


def paragraph_starts(text: str) -> list[re.Match[str]]:
    """Line-start paragraph numbers that open paragraphs: the first one is
    ``1.`` or carries a classification marking; then see ``_accept_number``.
    Most cables number their lines 1, 2, 3 ... with nothing else at a line
    start: then every candidate opens a paragraph, checked in one comparison."""
    # a real cable has a few hundred numbered lines at most
    matches = list(islice(_PARA_START_RE.finditer(text), MAX_CANDIDATES))
    numbers = [match.group(2) for match in matches]
    if numbers == _COUNTING[:len(numbers)]:
        return matches[:_MAX_PARAGRAPHS]
    starts: list[re.Match[str]] = []
    last = 0
    last_marked = False
    for match in matches:
        number_text, mark = match.group(2, "mark")
        number = int(number_text)
        if not starts:
            if number == 1 or _marking(mark):
                starts.append(match)
                last = number
                last_marked = bool(_marking(mark))
            continue
        if number == last + 1 or _accept_number(number, last, mark, last_marked, match, text):
            starts.append(match)
            last = number
            last_marked = bool(_marking(mark))
            if len(starts) >= _MAX_PARAGRAPHS:
                break
    return starts


_COUNTING = [str(number) for number in range(1, 1000)]  # "1" ... "999" (\d{1,3})


def split_paragraphs(
    text: str, starts: list[re.Match[str]], preamble_start: int, content_end: int
) -> list[dict]:
    """Numbered paragraphs ``{number, marking, text}``; text before the first
    numbered paragraph and after the head (SUBJECT/REF/Classified By) becomes
    unnumbered paragraphs; the signer and trailer lines are left out."""
    if not starts:
        return _inline_paragraphs(text[preamble_start:content_end])[:_MAX_PARAGRAPHS]
    paragraphs = _unnumbered(text[preamble_start:starts[0].start()])
    stops = [match.start() for match in starts]
    stops[0:1] = []
    stops.append(content_end)
    for match, stop in zip(starts, stops, strict=True):
        number, mark = match.group(2, "mark")
        if mark:
            marking = _marking(mark)
            # "(A) text" after the number is not a classification marking: keep it
            cut = match.end() if marking else match.start("mark") - 1
        else:
            marking = None
            cut = match.end()
        # the text without surrounding blank lines (the spaces that end lines
        # are already gone: clean_text)
        paragraphs.append({"number": number, "marking": marking, "text": text[cut:stop].strip()})
    return paragraphs


def _inline_paragraphs(text: str) -> list[dict]:
    """Paragraphs of a text whose numbered paragraphs run together inside lines
    (``... (d) 1. (C) Summary: ... End Summary.  2. (U) Saleh ...``): numbers
    must run 1, 2, 3 ... with a valid marking; otherwise blank-line blocks."""
    starts: list[tuple[int, int, str, str | None]] = []  # start, end, number, marking
    for seen, match in enumerate(_INLINE_PARA_RE.finditer(text)):
        if seen >= MAX_CANDIDATES:
            break
        # the paragraph number is written just before ". (C)", after a space
        number = str(len(starts) + 1)
        begin = match.start() - len(number)
        if text[begin:match.start()] != number or (begin > 0 and not text[begin - 1].isspace()):
            continue
        marking = _marking(match.group("mark"))
        if marking:
            starts.append((begin, match.end(), number, marking))
            if len(starts) >= _MAX_PARAGRAPHS:
                break
    if not starts:
        return _unnumbered(text)
    paragraphs = _unnumbered(text[: starts[0][0]])
    for index, (_, end, number, marking) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        paragraphs.append({"number": number, "marking": marking, "text": _tidy(text[end:stop])})
    return paragraphs


def _accept_number(number: int, last: int, mark: str | None, last_marked: bool,
                   match: re.Match[str], text: str) -> bool:
    """A line opening with ``N.`` starts a new paragraph when N follows the last
    number; a small gap or a repeated number only with a marking, or after a
    blank line in a cable whose paragraphs carry no markings -- so numbered
    lists inside a paragraph stay in it."""
    if number == last + 1:
        return True
    if last < number <= last + 3 or number == last:
        # a repeated number: the author's slip
        return _is_marking(mark) or not last_marked and _blank_before(match, text)
    if last < number <= last + 10:
        return _is_marking(mark)  # lost paragraphs (partial extracts, truncated sections)
    return False


def _blank_before(match: re.Match[str], text: str) -> bool:
    """The numbered line found by ``_PARA_START_RE`` follows a blank line."""
    if match.group("blank") is not None:
        return True
    return not text[text.rfind("\n", 0, match.start()) + 1:match.start()].strip()


@lru_cache(maxsize=4096)
def _is_marking(mark: str | None) -> bool:
    """The parentheses after a paragraph number hold a marking as written."""
    return bool(mark and _MARKING_RE.fullmatch(mark.strip()))


@lru_cache(maxsize=4096)
def _marking(mark: str | None) -> str | None:
    """A paragraph's classification marking as written (``C``, ``S//NF``,
    ``C - ENTIRE TEXT``); lower-case markings (``(sbu)``) are upper-cased."""
    if not mark:
        return None
    text = " ".join(mark.split())
    if _MARKING_RE.fullmatch(text):
        return text
    upper = text.upper()
    return upper if len(upper) <= 12 and _MARKING_RE.fullmatch(upper) else None


def _unnumbered(text: str) -> list[dict]:
    """Blank-line separated blocks of text with no paragraph number. In a
    double-spaced text (a blank line after every line) it takes two blank
    lines to end a block."""
    out: list[dict] = []
    if not text.strip():
        return out
    lines = text.split("\n")
    blank = sum(1 for line in lines if not line.strip())
    filled = len(lines) - blank
    # double spacing: wrapped (short) lines, each followed by a blank line
    needed = 2 if filled >= 6 and blank * 2.2 >= len(lines) and (
        len(text) - len(lines) < 90 * max(filled, 1)
    ) else 1
    block: list[str] = []
    blanks = 0
    for line in lines:
        if line.strip():
            block.append(line)
            blanks = 0
            continue
        blanks += 1
        if block and blanks >= needed:
            out.append(_unnumbered_paragraph(block))
            block = []
        if len(out) >= _MAX_PARAGRAPHS:
            return out
    if block:
        out.append(_unnumbered_paragraph(block))
    # a line of dashes under a heading is not a paragraph
    return [p for p in out if any(c.isalnum() for c in p["text"])]


def _unnumbered_paragraph(block: list[str]) -> dict:
    first = block[0]
    match = MARK_ONLY_RE.match(first)
    marking = _marking(match.group("mark")) if match else None
    if match and marking:
        block = [first[match.end():], *block[1:]]
    return {"number": None, "marking": marking, "text": _join_text(block)}


def _join_text(lines: list[str]) -> str:
    """Paragraph text: lines kept, trailing spaces and surrounding blank lines dropped."""
    return "\n".join(line.rstrip() for line in lines).strip()


def _tidy(text: str) -> str:
    """A paragraph's text without surrounding blank lines (the spaces that end
    lines are already gone: ``clean_text``)."""
    return text.strip()


def section_headings(paragraphs: list[dict]) -> tuple[list[dict], list[str | None]]:
    """Section headings written between paragraphs (``Military Modernization``
    over a line of dashes) end up at the end of the paragraph above; they are
    taken out of it. Returns the paragraphs and, for each, the heading that
    precedes it (a block made only of a heading is dropped)."""
    if not [p for p in paragraphs if p["text"][-1:] in "-=_ "]:
        # no paragraph ends with a line of dashes, none is empty (the "" of an
        # empty text is "in" any string): nothing to take out
        return paragraphs, [None] * len(paragraphs)
    kept: list[dict] = []
    headings: list[str | None] = []
    pending: str | None = None
    for paragraph in paragraphs:
        text = paragraph["text"]
        heading = None
        if text and text[-1] in "-=_ ":  # every heading form ends with a line of dashes
            text, heading = _trailing_heading(text)
        if not text and paragraph["number"] is None:
            pending = " ".join(h for h in (pending, heading) if h) or pending
            continue
        paragraph["text"] = text
        kept.append(paragraph)
        headings.append(pending)
        pending = heading
    return kept, headings


def _trailing_heading(text: str) -> tuple[str, str | None]:
    """Split a paragraph text into its text and a heading at its end."""
    if not text or text[-1] not in "-=_ ":
        return text, None  # every heading form ends with a line of dashes
    last_line = text[text.rfind("\n") + 1:]
    if "---" not in last_line and "===" not in last_line and "___" not in last_line and (
        "- - -" not in last_line
    ):
        return text, None  # every heading form ends with a line of dashes
    parts: list[str] = []
    for _ in range(4):
        body = text.rstrip()
        cut = body.rfind("\n")
        last = body[cut + 1:].strip()
        above = body[: cut + 1] if cut >= 0 else ""
        if last and _is_underline(last):
            prev = above.rstrip()
            prev_cut = prev.rfind("\n")
            title = prev[prev_cut + 1:].strip()
            if _heading_title(title):
                before_title = prev[: prev_cut + 1] if prev_cut >= 0 else ""
                kept = before_title.rstrip()  # (empty: nothing but blank lines above)
                overline = kept[kept.rfind("\n") + 1:].strip()
                over = bool(overline) and _is_underline(overline)
                if not kept or over or before_title.endswith(("\n\n", "\n \n")):
                    parts.insert(0, title)
                    text = kept[: -len(overline)] if over else before_title
                    break
            text = above  # a separator line alone
            continue
        if not last or last[-1] not in "-=_":
            break  # both forms below end with a line of dashes
        dashed = _title_before_dashes(last)
        if dashed is not None and _heading_title(dashed):
            parts.insert(0, dashed)
            text = above
        else:
            # flattened: "... the budget. ------- Summary -------" ends the line
            inline = _INLINE_HEADING_RE.search(body, max(0, len(body) - 200))
            if inline and _heading_title(inline.group("title")):
                parts.insert(0, inline.group("title"))
                text = body[: inline.start()]
        break
    heading = " ".join(parts) or None
    return text.strip(), heading


def _title_before_dashes(line: str) -> str | None:
    """The ``title`` group of ``_TITLE_UNDERLINE_RE.fullmatch(line)`` (None: no
    match) for a line without surrounding whitespace, read with str methods:
    the regex's lazy title, tried one character at a time, costs more than the
    rest of the heading search. Its only possible match: the line ends with a
    run of 3+ dashes after spaces/tabs; the title is what precedes those
    spaces, after a leading run of 3+ dashes (and spaces/tabs) if there is one."""
    core = line.rstrip("-=_")
    if len(line) - len(core) < 3:
        return None
    before = core.rstrip(" \t")
    if len(before) == len(core):
        return None  # the dashes must follow a space or a tab
    lead = before.lstrip("-=_")
    if len(before) - len(lead) >= 3:
        before = lead.lstrip(" \t")  # the optional leading group, taken whole
    if not before or before[0] in "-=_" or before[0].isspace() or len(before) > 100:
        return None
    if "\n" in before:  # the title is on one line (callers pass lines; the regex says so)
        return None
    return before


def _is_underline(line: str) -> bool:
    """``_UNDERLINE_RE.fullmatch(line)``: a line of at least three dashes
    (``-``, ``=``, ``_``), each followed by at most one space or tab. The
    regex repeats a group, which re runs slowly on lines of 70 dashes."""
    if not line or line[0] not in "-=_":
        return False
    if line.count(line[0]) == len(line):
        return len(line) >= 3  # one dash repeated: most underlines, answered in one pass
    if line.strip("-=_ \t"):
        return False  # (line.strip(...) is empty when every character is one of those)
    if "  " in line or "\t" in line and ("\t\t" in line or " \t" in line or "\t " in line):
        return False
    return len(line) - line.count(" ") - line.count("\t") >= 3


def _heading_title(title: str) -> bool:
    return 0 < len(title) <= 100 and not title.endswith((".", ",", ";", '"')) and not (
        ("-" in title or "=" in title or "_" in title) and _DASH_RUN_RE.search(title)
    )
