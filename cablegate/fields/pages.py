"""The cleaned copy of the body that every field parser reads: page-break
lines (``MOSCOW 00002205  002 OF 002``, NARA ``PAGE 02 HARARE ...``) and ¶
marks removed, the spaces that end lines dropped (docs/parsing.md, "Paragraphs")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from .classification import CLASS_WORD_LINE
from .common import MAX_CANDIDATES, MAX_LINE

_MAX_PAGE_BREAKS: Final = 1_000

_TRAILING_CLASS_RE: Final = re.compile(
    r"\s{2,}(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)\s*$"
)

# Page breaks: "MOSCOW 00002205  002 OF 002", "MADRID 00000552 002.2 OF 011" (own line
# or, on reflowed pages, inside a line) and the NARA "PAGE 02 HARARE 06677 01 OF 03 291400Z".
_PAGE_LINE_RE: Final = re.compile(
    r"\s*[A-Z][A-Z .'-]{0,30}?\s\d{8}\s+\d{3}(?:\.\d)?\s+OF\s+\d{3}\s*$"
)

_PAGE_OF_RE: Final = re.compile(r" OF \d{3}(?!\d)")

_OLD_PAGE_FIND_RE: Final = re.compile(r"\n[ \t]*(?:TO[ \t]+)?PAGE[ \t]+\d{1,3}[ \t]")

_OLD_PAGE_RE: Final = re.compile(
    r"\s*(?:TO\s+)?PAGE\s+\d{1,3}\s+"
    r"(?:R[A-Z]{3,6}\d{2,5}\b[^\n]*"
    r"|[A-Z][A-Z]*(?:\s+[A-Z]+){0,2}\s+\d{3,6}\s+(?:\d{2}\s+OF\s+\d{2}\s+)?\d{6}Z\s?)"
)


def clean_text(text: str, post: str | None) -> str:
    """The body text with page-break lines removed and ¶ marks dropped (the
    body itself stays as published; this copy is what paragraphs, subject and
    REF lists are read from, so a page break never splits them)."""
    if "\u00b6" in text:
        text = text.replace("\u00b6", "")
    if " \n" in text:
        # the spaces that end lines (most 2011-04 lines have one; the snapshots of
        # a cable differ in them): a few C-speed passes, rarely a line-by-line one
        # (split + join is replace(" \n", "\n") in one pass less; a " \n" is
        # left after it where the text had "  \n", i.e. where a piece but the
        # last ends with a space: a look at each piece's end is cheaper than
        # searching the text again)
        for _ in range(3):
            lines = text.split(" \n")
            more = _ends_with_space(lines)
            text = "\n".join(lines)
            if not more:
                break
        else:
            text = "\n".join(line.rstrip(" ") for line in text.split("\n"))
    if text.find("\\", 0, 4000) >= 0 and text.count("\\\n", 0, 4000) > 5:
        # a tab-separated dump with backslash-continued lines (2011-04 08GENEVA256);
        # the one-character find (memchr) spares the slower two-character count
        text = text.replace("\\\n", "\n")
    cuts: list[tuple[int, int, str]] = _modern_page_breaks(text, post)
    if "PAGE" in text:
        cuts += _old_page_breaks(text)
    if not cuts:
        return text
    cuts.sort()
    pieces: list[str] = []
    position = 0
    for start, end, replacement in cuts:
        if start < position:
            continue  # overlapping cut: the first one wins
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _ends_with_space(pieces: list[str]) -> bool:
    """Does any piece of ``text.split(" \\n")`` but the last end with a space,
    i.e. did the text hold ``"  \\n"``?"""
    for index in range(len(pieces) - 1):
        if pieces[index].endswith(" "):
            return True
    return False


def _modern_page_breaks(text: str, post: str | None) -> list[tuple[int, int, str]]:
    """``MOSCOW 00002205  002 OF 002`` on its own line (removed with its line)
    or, on reflowed pages, inside a line (replaced by one space)."""
    cuts: list[tuple[int, int, str]] = []
    for seen, match in enumerate(_page_of_matches(text)):
        if seen >= MAX_CANDIDATES:
            break
        back_start = _page_serial_start(text, match.start())
        if back_start < 0:
            continue
        line_start = text.rfind("\n", max(0, back_start - 80), back_start) + 1
        if line_start == 0 and back_start > 80:
            line_start = back_start - 80  # a very long line: look only nearby
        line_end = text.find("\n", match.end(), match.end() + 80)
        line_end = len(text) if line_end < 0 else line_end
        if _PAGE_LINE_RE.match(text, line_start, line_end):
            cuts.append((line_start, min(line_end + 1, len(text)), ""))
        else:
            cuts.append(_inline_page_cut(text, line_start, back_start, match.end(), post))
        if len(cuts) >= _MAX_PAGE_BREAKS:
            break
    return cuts


def _page_of_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_PAGE_OF_RE`` in order. ``str.find`` skips to each
    `` OF `` several times faster than the regex's own scan; a text with many
    `` OF `` not followed by a page number goes back to the regex scan."""
    position = text.find(" OF ")  # (text.find itself: a C call in the compiled build)
    misses = 0
    while position >= 0:
        match = _PAGE_OF_RE.match(text, position)
        if match:
            yield match
        else:
            misses += 1
            if misses > 64:  # upper-case prose: let the regex skip the non-hits
                yield from _PAGE_OF_RE.finditer(text, position + 1)
                return
        position = text.find(" OF ", position + 1)


def _page_serial_start(text: str, of_start: int) -> int:
    """Start of ``00002205  002`` (8-digit serial, page number, optional ``.2``)
    just before `` OF nnn``, or -1. Checked by hand: cheaper than a regex on
    texts full of `` OF ``."""
    j = of_start
    if j >= 2 and text[j - 2] == "." and text[j - 1].isdigit():
        j -= 2
    if j < 13 or not text[j - 3:j].isdigit():
        return -1
    j -= 3
    k = j
    while k > 0 and j - k < 6 and text[k - 1] in " \t":
        k -= 1
    if k == j or k < 8 or not text[k - 8:k].isdigit() or (k > 8 and text[k - 9].isdigit()):
        return -1
    return k - 8


def _inline_page_cut(text: str, line_start: int, serial_start: int, end: int,
                     post: str | None) -> tuple[int, int, str]:
    """The cut for a page break inside a line: the post name before the serial
    (the banner's spelling, else one upper-case word) through ``nnn OF nnn``."""
    before = text[max(line_start, serial_start - 60):serial_start].rstrip()
    base = serial_start - len(text[max(line_start, serial_start - 60):serial_start]) + len(before)
    if post and before.endswith(post):
        cut = base - len(post)
    else:
        space = before.rfind(" ")
        word = before[space + 1:]
        cut = base - len(word) if word.isupper() else serial_start
    while end < len(text) and end - cut < 200 and text[end] in " \t":
        end += 1
    return cut, end, ""


def _old_page_breaks(text: str) -> list[tuple[int, int, str]]:
    """``PAGE 02 HARARE 06677 01 OF 03 291400Z`` (NARA and PlusD texts): the
    prefix goes, with the classification lines printed above it and the blank
    lines around it; text after the prefix on the same line stays."""
    cuts: list[tuple[int, int, str]] = []
    if text.startswith(("PAGE", " ", "TO ")):
        text = "\n" + text  # so the first line is found like the others
        shift = 1
    else:
        shift = 0
    for found in _OLD_PAGE_FIND_RE.finditer(text):
        line_start = found.start() + 1
        match = _OLD_PAGE_RE.match(text, line_start, line_start + MAX_LINE)
        if match is None:
            continue
        start = _page_classification_start(text, line_start)
        end = match.end()
        line_end = text.find("\n", end, end + MAX_LINE)
        if not text[end:line_end if line_end >= 0 else end + MAX_LINE].strip():
            while end < len(text) and end - match.end() < 200 and text[end] in " \t\n":
                end += 1
        cuts.append((max(start - shift, 0), end - shift, "\n" if start - shift > 0 else ""))
        if len(cuts) >= _MAX_PAGE_BREAKS:
            break
    return cuts


def _page_classification_start(text: str, line_start: int) -> int:
    """Where the classification lines (and blank lines) above a ``PAGE nn``
    line begin; a classification word ending the line above is cut too."""
    start = line_start
    for _ in range(6):
        if start <= 0:
            return 0
        previous_start = text.rfind("\n", max(0, start - 1 - MAX_LINE), start - 1) + 1
        if previous_start == 0 and start - 1 > MAX_LINE:
            return start - 1  # a very long line above: not a classification line
        previous = text[previous_start:start - 1].strip()
        if previous and previous not in CLASS_WORD_LINE:
            trailing = _TRAILING_CLASS_RE.search(text, previous_start, start - 1)
            return trailing.start() if trailing else start - 1
        start = previous_start
    return start
