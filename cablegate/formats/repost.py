"""A cable re-posted on a blog (like ../shared/seed/000_073a325e002c35d2.txt).

The page text (a text file, or the visible text of an HTML page) holds, in
order: the hosting page's chrome ("WikiLeaks Link", "Understanding cables",
"Discussing cables" ...), the site's metadata table
flattened to a line ``Reference ID Created Released Classification Origin``
followed by the values (on one line, or one per line), then the cable text
(header lines such as ``DE``/DTG, then the body from its classification line),
then the blog's chrome again ("Post a comment or leave a trackback", "Leave a
Reply" ...). The chrome is dropped; the cable text is split into header and
body at the classification line.

``meta``: ``reference_id``, ``created``, ``released`` (``YYYY-MM-DDTHH:MM``),
``classification``, ``origin``.
"""

from __future__ import annotations

import re

from ..record import RawCable
from ._common import (
    fail,
    iso_minute,
    raw_cable,
    serial_of,
    split_header_body,
    strip_pilcrows,
    take_partial_notice,
    trim_text,
)

FORMAT = "repost"

TABLE_LINE = re.compile(
    r"Reference ID[ \t\n]{1,20}Created[ \t\n]{1,20}Released[ \t\n]{1,20}Classification"
    r"[ \t\n]{1,20}Origin"
)
_STAMP = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"
_VALUES = re.compile(
    r"(?P<refid>\S{4,40})\s+(?P<created>" + _STAMP + r")\s+(?P<released>" + _STAMP + r")\s+"
    r"(?P<cls>(?:TOP SECRET|SECRET|CONFIDENTIAL|UNCLASSIFIED|LIMITED OFFICIAL USE)"
    r"(?://(?:FOR OFFICIAL USE ONLY|[A-Z]+))*)\s+(?P<origin>\S[^\n]{0,80}?)\s*$"
)
# Blog chrome after the cable: where the cable text ends.
_CHROME_AFTER = re.compile(
    r"^(?:Post a comment or leave a trackback|Leave a Reply|Leave a [Cc]omment|Share this:"
    r"|Like this:|Related posts|Filed under|Posted in |Bookmark the permalink"
    r"|Comments are closed|Previous post|Next post|Fill in your details below|« Previous"
    r"|%d bloggers like this)",
    re.M,
)
_MAX_VALUE_LINES = 6


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(?:p|div|tr|td|th|li|h[1-6]|table|pre|blockquote)>")


def looks_like(text: str) -> bool:
    return TABLE_LINE.search(text) is not None


def html_text(page: str) -> str:
    """The visible text of an HTML page, one line per block or ``<br>`` (scripts dropped)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_BLOCK_END.sub(lambda m: m.group(0) + "\n", page))
    tree.strip_tags(["script", "style", "noscript"])
    root = tree.body or tree.root
    return "" if root is None else root.text(deep=True, separator="")


def _values(text: str, start: int) -> tuple[re.Match, int] | None:
    """The metadata values after the table line: (match, offset after them)."""
    lines: list[str] = []
    pos = start
    while len(lines) < _MAX_VALUE_LINES and pos < len(text):
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        line = text[pos:end].strip()
        pos = end + 1
        if not line:
            if lines:
                break
            continue
        lines.append(line[:200])
        m = _VALUES.match(" ".join(lines))
        if m is not None:
            return m, min(pos, len(text))
    return None


def read(text: str, path: str) -> RawCable:
    """The cable in a re-posted page; ParseError if the metadata line has no values."""
    text = strip_pilcrows(text)
    table = TABLE_LINE.search(text)
    if table is None:
        raise fail("no 'Reference ID Created Released Classification Origin' line", path)
    found = _values(text, table.end())
    if found is None:
        raise fail("the metadata line is not followed by its values (reference ID, dates, "
                   "classification, origin)", path)
    m, cable_start = found
    chrome = _CHROME_AFTER.search(text, cable_start)
    cable = text[cable_start : chrome.start() if chrome else len(text)]
    meta: dict = {
        "reference_id": m["refid"],
        "created": iso_minute(m["created"]),
        "released": iso_minute(m["released"]),
        "classification": m["cls"],
        "origin": m["origin"].strip(),
    }
    cable, partial = take_partial_notice(cable.lstrip())
    if partial:
        meta["partial"] = True
    header, body, warnings = split_header_body(cable, serial_of(m["refid"]))
    return raw_cable(trim_text(header), trim_text(body), path, FORMAT, meta=meta,
                     warnings=warnings)
