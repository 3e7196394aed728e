"""Plain-text cables: raw telegram text, alx/cablegate files, reveal body extracts.

* ``text``: a telegram as plain text -- transmission header (``VZCZC``, ``DE``,
  DTG, ``FM``/``TO``/``INFO``) and/or body (classification line, TAGS,
  SUBJECT, paragraphs). Split into header and body at the classification
  line; a text with no header is all body. The reference ID comes from the
  text (field parsing derives it); the file-name stem, when it looks like a
  reference ID (``07MOSCOW2205.txt``), is passed as ``meta['reference_id_hint']``.
* ``alx-txt`` (alx/cablegate ``cablegate_to_txt.rb``): five preamble lines --
  reference ID, subject, created date as Ruby ``Time#to_s`` with the time
  zeroed in the scraper's local zone, classification, origin -- then the two
  ``<pre>`` texts concatenated without a separator (split where the
  classification line starts, even mid-line: ``...AMCONSUL IZMIRUNCLAS SECTION
  01 OF 02 ANKARA 17365``). The time of day is not known, so ``created`` is
  not set; the date goes to ``meta['created_date']`` (``YYYY-MM-DD``). A file
  with the preamble only (``01VATICAN1261``) is a valid cable with no text.
* ``reveal-body-txt`` (tathagata/reveal): the body ``<pre>`` of a site page,
  ``<code><pre>...</pre></code>`` with real newlines and the site's TAGS and
  paragraph links, which are reduced exactly as on the site pages.

Scraped texts keep the ``¶`` of the site's paragraph anchors; it is removed
(no cable contains that character otherwise), as the HTML reader removes the
anchors.
"""

from __future__ import annotations

import re

from ..record import RawCable
from . import cablegate_html
from ._common import (
    fail,
    raw_cable,
    refid_hint_from_path,
    serial_of,
    split_header_body,
    strip_pilcrows,
    take_partial_notice,
    trim_text,
)

FORMAT_TEXT = "text"
FORMAT_ALX = "alx-txt"
FORMAT_REVEAL = "reveal-body-txt"

_REFID_LINE = r"(\d{2,4}[A-Z][A-Z0-9]*\d)"
_RUBY_TIME = r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) \d{2}:\d{2}:\d{2} [+-]\d{4} (\d{4})"
_ALX_PREAMBLE = re.compile(
    _REFID_LINE + r"[ \t]*\r?\n([^\r\n]*)\r?\n" + _RUBY_TIME
    + r"[ \t]*\r?\n([^\r\n]*)\r?\n([^\r\n]*)(?:\r?\n|$)"
)
_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

_REVEAL_OPEN = "<code><pre>"
_REVEAL_CLOSE = "</pre></code>"

# Signs of a telegram, at the start of a line. Two different kinds must be
# present for a text to count as a cable.
_TELEGRAM_MARKS = re.compile(
    r"^(?:(VZCZC)|(DE [A-Z]{4,7} #)|([A-Z]{1,2} \d{6}Z [A-Z]{3} \d{2})|(FM [A-Z])|(TO [A-Z])"
    r"|(SUBJ(?:ECT)?:)|(TAGS[: ])|(E\.? ?O\.? ?1[12]\d{3}|EO 1[12]\d{3})"
    r"|((?:UNCLAS|C ?O ?N ?F ?I ?D ?E ?N ?T ?I ?A ?L|S ?E ?C ?R ?E ?T|LIMITED OFFICIAL USE)"
    r"[ \t]+(?:SECTION \d+ OF \d+ )?[A-Z][A-Z .'-]{1,40} \d{1,7}[ \t]*$)"
    r"|(\d{1,2}\. +\((?:C|S|U|SBU|LOU|NF|S/NF|C/NF)\)))",
    re.M,
)
_MARK_SCAN_LIMIT = 65536


def is_alx(text: str) -> bool:
    return _ALX_PREAMBLE.match(text, 0, 2048) is not None


def is_reveal(text: str) -> bool:
    return text.lstrip()[: len(_REVEAL_OPEN)] == _REVEAL_OPEN


def telegram_marks(text: str) -> int:
    """How many different kinds of telegram line the text shows (0 = not a telegram)."""
    kinds = set()
    for m in _TELEGRAM_MARKS.finditer(text, 0, min(len(text), _MARK_SCAN_LIMIT)):
        kinds.add(m.lastindex)
        if len(kinds) >= 2:
            break
    return len(kinds)


def read_text(text: str, path: str, reference_id: str | None = None) -> RawCable:
    """A raw telegram text (format ``text``)."""
    hint = reference_id or refid_hint_from_path(path)
    text, partial = take_partial_notice(strip_pilcrows(text))
    header, body, warnings = split_header_body(text, serial_of(hint))
    header = trim_text(header)
    meta: dict = {}
    if hint:
        meta["reference_id_hint"] = hint
    if partial:
        meta["partial"] = True
    return raw_cable(header, trim_text(body), path, FORMAT_TEXT, meta=meta, warnings=warnings)


def read_alx(text: str, path: str) -> RawCable:
    """An alx/cablegate file: five preamble lines, then the concatenated ``<pre>`` texts."""
    m = _ALX_PREAMBLE.match(text, 0, 2048)
    if m is None:
        raise fail("not an alx/cablegate file (no 5-line preamble)", path)
    refid, subject, month, day, year, classification, origin = m.groups()
    meta: dict = {
        "reference_id": refid,
        "classification": classification.strip(),
        "origin": origin.strip(),
        "created_date": f"{year}-{_MONTHS.get(month, '??')}-{day}",
    }
    if subject.strip():
        meta["subject"] = subject.strip()
    rest, partial = take_partial_notice(strip_pilcrows(text[m.end() :]))
    if partial:
        meta["partial"] = True
    if not rest.strip():  # a header-only stub: the scraper stored no text
        return raw_cable(None, None, path, FORMAT_ALX, meta=meta)
    header, body, warnings = split_header_body(rest, serial_of(refid), glued=True)
    header = trim_text(header)
    return raw_cable(header, trim_text(body), path, FORMAT_ALX, meta=meta, warnings=warnings)


def read_reveal(text: str, path: str) -> RawCable:
    """A reveal body extract: ``<code><pre>`` body ``</pre></code>``."""
    start = text.find(_REVEAL_OPEN)
    end = text.rfind(_REVEAL_CLOSE)
    if start < 0 or end < start:
        raise fail("body <pre> block is not closed (truncated file?)", path)
    body = cablegate_html.clean_pre(text[start + len(_REVEAL_OPEN) : end])
    meta: dict = {}
    hint = refid_hint_from_path(path)
    if hint:
        meta["reference_id_hint"] = hint
    body, partial = take_partial_notice(body)
    if partial:
        meta["partial"] = True
    return raw_cable(None, body, path, FORMAT_REVEAL, meta=meta)
