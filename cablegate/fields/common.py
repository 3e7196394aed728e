"""Limits, small text helpers and the regexes that several field parsers use
(where a head element ends: a paragraph number, a marking, the next keyword)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

PARTIAL_NOTICE: Final = "This record is a partial extract of the original cable."

MAX_LINE: Final = 4_000  # longer lines are cut before a line regex looks at them
MAX_CANDIDATES: Final = 20_000  # regex hits examined one by one (paragraph numbers, " OF nnn")
MONTHS: Final = {m: i for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}

# Keywords that open the elements of the body head.
SUBJECT_RE: Final = re.compile(r"(?:SUBJECT|SUBJ|Subject)\b[ \t]*:?[ \t]*")
CLASSIFIED_RE: Final = re.compile(r"(?i)classified\s+by\b\s*:?\s*")
HEAD_KEY_RE: Final = re.compile(
    r"(?:E\s?[.,]?\s?[O0]\s?\.?\s?1\d{4}|TAGS|SUBJ|REF|Classified|CLASSIFIED)"
)

# A line that opens a paragraph ("1. (C) ...", "3..") or holds a marking only:
# it ends the SUBJECT, a REF list, a Classified By sentence.
PARA_RE: Final = re.compile(
    r"[ \t]*(\d{1,3})[ \t]*(?:[.)]|\.\.)(?=[ \t(\n]|$)[ \t]*"
    r"(?:\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*|)"
)
MARK_ONLY_RE: Final = re.compile(r"[ \t]*\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*")

# Where a REF list or a Classified By sentence ends inside a line: the next
# element, or a paragraph marking followed by its text ("(C) Poloff discussed").
# (The look-behinds sit after the first character so that the regex opens with
# a character set, which re's search skips to quickly: "\d(?<!\S\d)" is
# "(?<!\S)\d", "\((?<![A-Za-z]\()" is "(?<![A-Za-z])\(".)
INLINE_MARK: Final = r"\((?:S|C|U|SBU|LOU)(?:/{1,2}[A-Z ]{1,12})?\)"
REF_STOP_RE: Final = re.compile(
    r"[cC](?i:lassified\s+by)"
    rf"|\d(?<!\S\d)\d{{0,2}}\.[ \t]{{1,4}}{INLINE_MARK}"
    rf"|\((?<![A-Za-z]\(){INLINE_MARK[2:]}\s+(?!AND\b|OR\b)[A-Z]"
)


def text_of(value: object) -> str | None:
    """A metadata value as text, whitespace collapsed; None when empty."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


# ASCII whitespace besides space, tab and newline (``str.split()`` splits on these too)
_OTHER_ASCII_SPACES: Final = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def collapse_whitespace(text: str) -> str:
    """``" ".join(text.split())``: whitespace runs to one space, none at the
    ends. ``split`` makes one string per word; on paragraph-long ASCII texts
    (the common case) a few C passes over the text cost well under half."""
    if not text.isascii() or any(space in text for space in _OTHER_ASCII_SPACES):
        return " ".join(text.split())  # (Unicode spaces, rare controls)
    if "\n" in text:
        text = text.replace("\n", " ")
    if "\t" in text:
        text = text.replace("\t", " ")
    while "  " in text:  # each pass halves the runs of spaces
        text = text.replace("  ", " ")
    return text.strip(" ")


def end_of_line(text: str, pos: int) -> int:
    """The offset of the newline ending the line at ``pos`` (or the text's end)."""
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def keyword_matches(regex: re.Pattern[str], spellings: tuple[str, str], text: str,
                     start: int = 0) -> Iterator[re.Match[str]]:
    """``regex.finditer(text, start)`` for a keyword regex whose matches open
    with one of two spellings (``TAG``/``Tags``, ``SUBJ``/``Subject``,
    ``REF``/``Ref``): ``str.find`` skips to each spelling much faster than the
    regex's own scan, which stops at every capital letter of the text."""
    first, second = spellings
    at_first = text.find(first, start)
    at_second = text.find(second, start)
    while at_first >= 0 or at_second >= 0:
        position = at_second if at_first < 0 or 0 <= at_second < at_first else at_first
        match = regex.match(text, position)
        if match:
            yield match
            position = match.end()
        else:
            position += 1
        if 0 <= at_first < position:
            at_first = text.find(first, position)
        if 0 <= at_second < position:
            at_second = text.find(second, position)
