"""The REF list: each item as written and the reference IDs of the cables it
cites (docs/parsing.md, ``references_raw`` and ``references``)."""

from __future__ import annotations

import re
from typing import Final

from .. import ids
from .common import (
    HEAD_KEY_RE,
    MARK_ONLY_RE,
    PARA_RE,
    REF_STOP_RE,
    end_of_line,
    keyword_matches,
    text_of,
)

_MAX_REF_ITEMS: Final = 100

_REF_RE: Final = re.compile(r"(?:REF|Ref)(?:S|TEL|TELS|ERENCES?|s|tel)?\b[ \t]*:?[ \t]*")

# REF items: letters "A." "A)" "(A)" open items; post + serial make a cited cable.
# An item opens the text or follows a space, ";" or ",". Written so that the
# regex opens with a character set, which re's search skips to quickly (a
# pattern opening with look-behinds is tried at every character): the first
# character ("(" or the letter) is read, then the look-behind checks the one
# before it; after "(" the letter is read; group 1 is the letter either way.
_REF_LETTER_RE: Final = re.compile(
    r"[(A-Z](?<![^\s;,][(A-Z])(?:(?<=\()[A-Z]|)(?<=([A-Z]))"
    r"(?:\s?\.(?=\s)|\s?\)(?=\s|[A-Z0-9]))"
)

# a line opening a lettered REF item with a cable reference: "(B) SAO PAULO 350;"
_REF_ITEM_LINE_RE: Final = re.compile(
    r"\(?[A-Z]\s?[.)]\s*(?:\(?[A-Z]\)\s*)?(?:\d{2,4}\s+)?[A-Za-z][A-Za-z .'-]{1,30}\s\d"
)

# "07MOSCOW1234" in a REF (\b before the year, written after its first digit)
_REF_ID_RE: Final = re.compile(r"(\d(?<!\w\d)\d)([A-Z]{3,25})(\d{1,7})\b")

_REF_TOKEN_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")


def _find_ref(head: str) -> re.Match[str] | None:
    """A REF line (``REF:``, ``REFS:``, ``REFTEL``, ``Ref:``) at a line start,
    or ``REF:`` inside a line after a space or a lower-case letter."""
    for match in keyword_matches(_REF_RE, ("REF", "Ref"), head):
        before = head[head.rfind("\n", 0, match.start()) + 1:match.start()]
        if not before.strip():
            return match
        if ":" in match.group(0) and (before[-1] == " " or before[-1].islower()):
            return match
    return None


def ref_items(head: str) -> tuple[list[str], int, int]:
    """Each REF item as written (``A. MOSCOW 2205``), whitespace collapsed,
    and the offset where the REF list ends."""
    match = _find_ref(head)
    if not match:
        return [], 0, 0
    end = _ref_block_end(head, match.end())
    stop = _ref_stop(head, match.end(), end)
    if stop is not None:
        end = stop
    block = " ".join(head[match.end():end].split())[:4000]
    if not block:
        return [], match.start(), end
    letters = list(_REF_LETTER_RE.finditer(block))
    items: list[str] = []
    if letters and letters[0].start() == 0:
        for index, letter in enumerate(letters[:_MAX_REF_ITEMS]):
            stop_at = letters[index + 1].start() if index + 1 < len(letters) else len(block)
            item = block[letter.start():stop_at].strip(" ;,")
            # "A. A) 2007 SAN JOSE 2070": the letter written twice is one item
            if item and len(item) <= 3 and index + 1 < len(letters):
                continue
            if item:
                items.append(item)
    else:
        items = [part.strip() for part in block.split(";") if part.strip()][:_MAX_REF_ITEMS]
    return items, match.start(), end


def _ref_stop(head: str, start: int, end: int) -> int | None:
    """Where a REF list ends inside its lines: at Classified By or at a
    paragraph marking -- but ``(C)`` after items ``(A)`` and ``(B)`` is the
    next item's letter, not a CONFIDENTIAL marking."""
    position = start
    for _ in range(50):
        stop = REF_STOP_RE.search(head, position, end)
        if stop is None:
            return None
        text = stop.group(0)
        if text.startswith("(") and len(text) > 2 and text[2] == ")":
            letters = [m.group(1) for m in _REF_LETTER_RE.finditer(head, start, stop.start())]
            if letters and ord(text[1]) == ord(letters[-1]) + 1:
                position = stop.end()
                continue
        return stop.start()
    return None


def _ref_block_end(head: str, start: int) -> int:
    """Where the REF list ends: its line and continuation lines. A blank line,
    a paragraph or a marking ends it, except for a line that opens the next
    lettered item (``(B) SAO PAULO 350``, ``C. ROME 310``)."""
    pos = start
    end = start
    count = 0
    while pos <= len(head) and count < 40:
        line_end = end_of_line(head, pos)
        line = head[pos:line_end]
        stripped = line.strip()
        next_item = bool(_REF_ITEM_LINE_RE.match(stripped))
        if count and not next_item and (
            PARA_RE.match(line) or HEAD_KEY_RE.match(stripped)
            or MARK_ONLY_RE.match(line) or stripped.startswith(("--", "=="))
        ):
            break
        if not stripped:
            nxt = head[line_end + 1:end_of_line(head, line_end + 1)].strip()
            if end > start and not _REF_ITEM_LINE_RE.match(nxt):
                break
        else:
            end = line_end
        if line_end >= len(head):
            break
        pos = line_end + 1
        count += 1
    return end


def references(items: list[str], citing: str | None, year: str | None) -> list[str]:
    """Canonical IDs of the cables cited in the REF items, in order, deduplicated,
    without the cable itself. A reference written without a year is taken to
    be of the citing cable's year (the convention of the heuer/cablemap library)."""
    out: list[str] = []
    for item in items:
        for ref in _cables_in(item, year):
            if ref != citing and ref not in out:
                out.append(ref)
    return out


def _cables_in(item: str, default_year: str | None) -> list[str]:
    """``06 STATE 12345`` / ``MOSCOW 2205`` / ``07MOSCOW1234`` in one REF item:
    a serial after a post name known to the reference tables (up to four words,
    longest first), with a two- or four-digit year before the name if written."""
    item = item[:600]
    found: list[str] = []
    for match in _REF_ID_RE.finditer(item):
        ref = ids.make_id(match.group(1), match.group(2), match.group(3))
        if ref:
            found.append(ref)
    tokens = _REF_TOKEN_RE.findall(item)
    used: set[str] = set()  # serials already read: "TEHRAN 1091: TEHRAN 263" has no year
    for index, token in enumerate(tokens):
        if index == 0 or not token.isdigit() or len(token) > 7:
            continue
        first = index
        while first > 0 and index - first < 4 and not tokens[first - 1].isdigit():
            first -= 1
        for begin in range(first, index):
            name = "".join(tokens[begin:index])
            if len(name) < 2 or not name[0].isupper():
                continue
            code = ids.resolve_code(name)
            if code is None:
                continue
            year = default_year
            before = tokens[begin - 1] if begin > 0 else ""
            if before.isdigit() and before not in used and (
                len(before) == 2 or len(before) == 4 and before[:2] in ("19", "20")
            ):
                year = before[-2:]
            used.add(token)
            ref = ids.make_id(year, code, token)
            if ref:
                found.append(ref)
            break
    return found


def meta_references(value: object, citing: str | None) -> list[str]:
    items = value.split("|") if isinstance(value, str) else value if isinstance(value, list) else []
    out: list[str] = []
    for item in items:
        text = text_of(item)
        if not text:
            continue
        ref, _ = ids.canonical_id(text)
        if ref != citing and ref not in out:
            out.append(ref)
    return out
