"""Helpers shared by the format readers: text clean-up, header/body split, hints.

Everything here is linear in the size of its input: plain ``str`` methods and
regular expressions without nested unbounded quantifiers, always applied to
bounded slices (a line, the first 64 KB) when they could otherwise backtrack.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Final

from ..errors import ParseError
from ..record import RawCable

# Asked once per input, in reading order, just before it is parsed: False
# leaves it to another reader (ingest's parse workers share the inputs).
Keep = Callable[[], bool]


@dataclass(frozen=True)
class Skipped:
    """An input ``keep`` left to another reader: counted in order, not parsed."""

    path: str
    size: int  # its bytes (for progress)


# The sentence WikiLeaks put in front of cables it only had part of.
PARTIAL_NOTICE: Final = (
    "This record is a partial extract of the original cable. "
    "The full text of the original cable is not available."
)
_PARTIAL_RE: Final = re.compile(
    r"[ \t\r\n]*This record is a partial extract of the original cable\.[ \t]*"
    r"The full text of the original cable is not available\.[ \t]*\r?\n?"
)

# A reference ID as written in file names: 2- or 4-digit year (or the doubled
# "7575"), origin code, serial. The serial is the trailing digit run.
_REFID_RE: Final = re.compile(r"^(\d{2}|\d{4})([A-Z][A-Z0-9]*?[A-Z])(\d{1,7})$")

# Classification words that open the body's classification line, spaced-out
# ("C O N F I D E N T I A L"), doubled-initial typos ("SS E C R E T") included.
_CLASS_WORD: Final = (
    r"(?:UNCLAS(?:SIFIED)?|U N C L A S(?: S I F I E D)?"
    r"|C?C ?O ?N ?F ?I ?D ?E ?N ?T ?I ?A ?L|C o n f i d e n t i a l"
    r"|(?:TOP |T O P )?S?S ?E ?C ?R ?E ?T|S e c r e t"
    r"|LIMITED OFFICIAL USE|L I M I T E D O F F I C I A L U S E)"
)
_CLASS_AT_LINE_START: Final = re.compile(r"^" + _CLASS_WORD + r"(?![A-Za-z])", re.M)
# Also glued onto the end of the last header line, as in alx files, where the
# two <pre> texts were concatenated ("AMCONSUL IZMIRUNCLAS SECTION 01 OF 02 ...").
_CLASS_AT_LINE_START_OR_GLUED: Final = re.compile(
    r"(?:^|(?<=[A-Z0-9/.)]))" + _CLASS_WORD + r"(?![A-Za-z])", re.M
)
_LEADING_DIGITS: Final = re.compile(r"0*(\d{1,7})")
_TRAILING_NUMBER: Final = re.compile(r"(?:^|[ \t])0*(\d{1,7})[ \t\\/.,;:-]*$")
_SPLIT_SCAN_LIMIT: Final = 65536  # the transmission header is never longer than this
_CLASS_LINE_MAX: Final = 240  # a classification line is short; longer lines are prose

_ENTITY_RE: Final = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PILCROW_LINE: Final = re.compile(r"^¶[ \t]*\n", re.M)

DATE_TIME_RE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$")


def raw_cable(
    header: str | None,
    body: str | None,
    path: str,
    fmt: str,
    row: int | None = None,
    meta: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> RawCable:
    """A RawCable; empty (whitespace-only) texts become None: the source has none."""
    if header is not None and not header.strip():
        header = None
    if body is not None and not body.strip():
        body = None
    return RawCable(
        header=header,
        body=body,
        source={"path": path, "format": fmt, "row": row},
        meta=meta or {},
        warnings=warnings or [],
    )


def trim_text(text: str | None) -> str | None:
    """A header or body without surrounding blank lines and trailing whitespace.

    The site's ``<pre>`` blocks never end in whitespace, while files and CSV
    fields add a final line break (and keep the last line's trailing space):
    trimming makes the same cable read the same from every format. Line
    breaks are normalised to ``\n`` (a CRLF file is an encoding detail).
    """
    if text is None:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.lstrip("\n").rstrip()


def fail(reason: str, path: str, row: int | None = None) -> ParseError:
    return ParseError(reason, path=path, row=row)


def unescape_entities(text: str) -> str:
    """Decode HTML character references that end in ``;``; a raw ``&`` stays.

    ``html.unescape`` on the whole text would also turn ``&not`` or ``&copy``
    without a semicolon into characters, which would alter cable text such as
    ``AT&T`` -- so only complete references are decoded.
    """
    if "&" not in text:
        return text
    return _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)


def strip_pilcrows(text: str) -> str:
    """Remove the ``¶`` left by a scraper or PDF from the site's paragraph anchors.

    No cable text contains ``¶`` outside those anchors (checked on every page
    of the corpus), so every one is site residue. A ``¶`` alone on its line
    (how the PDFs lay it out) is removed with its line break.
    """
    if "¶" not in text:
        return text
    return _PILCROW_LINE.sub("", text).replace("¶", "")


def take_partial_notice(text: str) -> tuple[str, bool]:
    """``text`` without a leading partial-extract notice, and whether it had one.

    The notice is removed with the line break that follows it; text that
    follows it directly (no line break, as in alx files) is kept.
    """
    if "partial extract" not in text[:400]:
        return text, False
    m = _PARTIAL_RE.match(text)
    if m is None:
        return text, False
    return text[m.end() :].lstrip("\r\n"), True


def refid_parts(refid: str | None) -> tuple[str, str, str] | None:
    """(year, origin code, serial) of a reference ID as written, or None."""
    if not refid:
        return None
    m = _REFID_RE.match(refid.strip())
    return (m.group(1), m.group(2), m.group(3)) if m else None


def refid_hint_from_path(path: str) -> str | None:
    """The file-name stem when it looks like a reference ID (``07MOSCOW2205.txt``).

    PlusD file names carry a suffix (``1974ATHENS02959_b.html``); it is dropped.
    """
    stem = PurePath(path).name.split(".", 1)[0]
    stem = re.sub(r"_[A-Za-z0-9]{1,3}$", "", stem)
    return stem if refid_parts(stem) else None


def serial_of(refid: str | None) -> int | None:
    parts = refid_parts(refid)
    return int(parts[2]) if parts else None


def _line_at(text: str, start: int) -> str:
    """The line from ``start``, cut at ``_CLASS_LINE_MAX + 1`` characters (bounded work)."""
    cap = start + _CLASS_LINE_MAX + 1
    end = text.find("\n", start, cap)
    return text[start : (cap if end < 0 else end)]


def _is_class_line(rest: str, serial: int | None) -> bool:
    """Does the line remainder after the classification word make a class line?

    A classification line ends with the serial (``... MOSCOW 002205``). With a
    known serial, the serial may also be followed by more text, for bodies
    published without line breaks (``UNCLAS TALLINN 000128 SIPDIS PARIS ...``).
    """
    if rest and rest[0] not in " \t":
        return False
    if len(rest) <= _CLASS_LINE_MAX:
        m = _TRAILING_NUMBER.search(rest.rstrip("\r"))
        if m is not None and (serial is None or int(m.group(1)) == serial):
            return True
    if serial is None:
        return False
    for token in rest[:_CLASS_LINE_MAX].split()[:12]:
        digits = _LEADING_DIGITS.match(token)
        if digits is not None:  # "01" of "SECTION 01 OF 02", or "000544SIPDIS"
            if int(digits.group(1)) == serial:
                return True
        elif not token.isupper():  # prose, not "SECTION 01 OF 02 NEW DELHI"
            return False
    return False


def find_body_start(text: str, serial: int | None = None, glued: bool = False) -> int | None:
    """Offset where the body (its classification line) begins, or None.

    The body of a telegram opens with its classification line, e.g.
    ``C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205`` or
    ``UNCLASSIFIED BUENOS AIRES 2481``; header lines such as a bare
    ``CONFIDENTIAL`` or ``CONFIDENTIAL     PTQ1859`` do not end in a separate
    number and are skipped. With ``glued`` (alx files, where the two ``<pre>``
    texts were concatenated without a separator) the classification word may
    also follow the last header line directly; that needs the serial.
    """
    limit = min(len(text), _SPLIT_SCAN_LIMIT)
    candidates = [serial, None] if serial is not None else [None]
    for want in candidates:
        # A glued match is only trusted when it ends with the known serial.
        pattern = _CLASS_AT_LINE_START_OR_GLUED if glued and want else _CLASS_AT_LINE_START
        for m in pattern.finditer(text, 0, limit):
            line = _line_at(text, m.start())
            if _is_class_line(line[m.end() - m.start() :], want):
                return m.start()
    return None


_HEADER_FIRST_LINE: Final = re.compile(
    r"[ \t\n]*(?:VZCZC|DE [A-Z]{4,7} |[A-Z]{1,2}(?: [A-Z])? \d{6} ?Z [A-Z]{3} \d{2}"
    r"|\d{6}Z |PAGE 01 )"
)
_BODY_MARK: Final = re.compile(
    r"^(?:SUBJ|TAGS|E\.? ?O\.? ?1\d{4}|EO 1\d{4}|REF:|\d{1,2}\.[ \t])", re.M
)


def is_header_only(text: str) -> bool:
    """A transmission header with no body after it (DTG, FM, TO ... and nothing else)."""
    if _HEADER_FIRST_LINE.match(text) is None:
        return False
    return _BODY_MARK.search(text, 0, _SPLIT_SCAN_LIMIT) is None


def split_header_body(
    text: str, serial: int | None = None, glued: bool = False
) -> tuple[str | None, str | None, list[str]]:
    """(header, body, warnings) of a telegram text holding both, split at the class line.

    A transmission header with nothing after it is all header. Otherwise, when
    no classification line is found, the whole text is kept as the body
    (nothing is lost; field parsing still sees it) and a warning says so.
    """
    start = find_body_start(text, serial, glued)
    if start is None and is_header_only(text):
        return text, None, []
    if start is None:
        return None, text, ["header and body could not be told apart (no classification line);"
                            " the whole text is kept as the body"]
    header = text[:start].strip("\r\n")
    return (header or None), text[start:], []


def iso_minute(value: str) -> str | None:
    """``YYYY-MM-DD HH:MM`` (as on the site) -> ``YYYY-MM-DDTHH:MM``; None if not that shape."""
    m = DATE_TIME_RE.match(value.strip())
    if m is None:
        return None
    y, mo, d, h, mi = m.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}"


_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}


def month_number(abbrev: str) -> int | None:
    return _MONTHS.get(abbrev[:3].upper())
