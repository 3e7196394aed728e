"""The summary: the text after a ``Summary:`` label or under a ``Summary``
heading, up to ``End summary`` (docs/parsing.md)."""

from __future__ import annotations

import re
from typing import Final

from .common import collapse_whitespace

_SUMMARY_START_RE: Final = re.compile(
    r"(?i)[\s\-(=_]*(?:[IVX]{1,4}\.\s*|)(?:begin\s+|)(?:introduction\s+and\s+|)summary"
    r"(?:\s*/\s*introduction|)(?:\s+and\s+(?:comments?|action\s+requests?(?:ed|)"
    r"|introduction|recommendations?|background)|)\s*(?:[:.\-]+|\n|$)"
)

_SUMMARY_HEADING_RE: Final = re.compile(  # a "Summary" heading line ending a block
    r"(?i)(?:^|\n)[ \t=_-]*(?:[IVX]{1,4}\.[ \t]*|[A-Z]\.[ \t]*)?(?:introduction[ \t]+and[ \t]+)?"
    r"summary(?:[ \t]+and[ \t]+(?:comments?|introduction))?[ \t=_:-]*(?:\n[ \t=_-]*)*$"
)

_SUMMARY_END_RE: Final = re.compile(r"end\s+(?:of\s+)?summary\b")  # applied to lower-cased text


def find_summary(paragraphs: list[dict], headings: list[str | None] | None = None) -> str | None:
    """The summary (docs/parsing.md): the text after the ``Summary:`` label of
    the first paragraph that opens with one, or the paragraph(s) under a
    ``Summary`` heading, up to ``End summary`` (over at most six paragraphs);
    without an end marker, that one paragraph. Without any label, paragraphs
    up to an ``End summary`` within the first four. Whitespace is collapsed;
    paragraphs are joined by a blank line."""
    headings = headings or [None] * len(paragraphs)
    for index, paragraph in enumerate(paragraphs[:40]):
        text = paragraph["text"]
        heading = headings[index]
        if heading and _SUMMARY_START_RE.fullmatch(heading.strip(" -=_:")):
            return _summary_from(paragraphs, index, text)
        start = _SUMMARY_START_RE.match(text, 0, 200) if _may_open_summary(text) else None
        if start:
            rest = text[start.end():]
            if rest.strip(" \t\n-=_:."):
                return _summary_from(paragraphs, index, rest)
            if index + 1 < len(paragraphs):  # a heading on its own
                return _summary_from(paragraphs, index + 1, paragraphs[index + 1]["text"])
            return None
        tail = text[-200:]
        if index + 1 < len(paragraphs) and ("ummary" in tail or "UMMARY" in tail) and (
            _SUMMARY_HEADING_RE.search(tail)
        ):
            return _summary_from(paragraphs, index + 1, paragraphs[index + 1]["text"])
    for index, paragraph in enumerate(paragraphs[:4]):
        if _summary_end(paragraph["text"]) >= 0:
            first = next((i for i, p in enumerate(paragraphs[: index + 1]) if p["number"]), 0)
            return _summary_from(paragraphs, first, paragraphs[first]["text"])
    return None


def _may_open_summary(text: str) -> bool:
    """Can ``_SUMMARY_START_RE`` match at the start of ``text`` (``[:200]``)?
    After its run of spaces and ``-(=_`` the label opens with a letter of
    ``summary``, ``begin``, ``introduction`` or a Roman numeral, or one of the
    non-ASCII letters IGNORECASE pairs with them: a look at that character
    spares most paragraphs the regex."""
    for char in text[:200]:
        if char in "-(=_" or char.isspace():
            continue
        return char in "sSbBiIvVxX" or char > "\x7f"
    return False


def _summary_end(text: str) -> int:
    """Offset of ``End summary`` / ``END OF SUMMARY`` in a text, or -1."""
    low = text.lower()
    if "summary" not in low:
        return -1
    match = _SUMMARY_END_RE.search(low)
    if match is None or (match.start() and low[match.start() - 1].isalpha()):
        return -1
    return match.start()


def _summary_from(paragraphs: list[dict], index: int, first: str) -> str | None:
    pieces: list[str] = []
    for offset, following in enumerate(paragraphs[index:index + 6]):
        chunk = first if offset == 0 else following["text"]
        end = _summary_end(chunk)
        if end >= 0:
            pieces.append(chunk[:end].rstrip(" \t\n(-"))
            break
        pieces.append(chunk)
    else:
        pieces = [first]
    cleaned = [collapse_whitespace(p).strip(" -=_") for p in pieces]
    return "\n\n".join(p for p in cleaned if p) or None
