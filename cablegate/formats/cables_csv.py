"""The unofficial ``cables.csv`` distribution (1.7 GB, 251,287 rows), streamed.

Each record is 8 double-quoted columns, no header row, quotes inside fields
escaped with a backslash, and raw line breaks inside the header and body::

    "<row id>","<M/D/YYYY H:MM>","<refid>","<origin>","<classification>",
    "<references, |-separated>","<header>","<body>"

Records are framed before they are parsed: a record starts at a line that
opens with ``"<digits>","<M/D/YYYY H:MM>","`` (row id and date, as every row
of the file does; text inside a cable cannot plausibly start a line so). Each framed record
is then decoded and parsed on its own (a well-formed record by a walk from
quote to quote, any other by the ``csv`` module's reading). So a broken
record -- an unterminated or unescaped quote, a wrong column count, invalid
UTF-8, an oversized field -- is one ``ParseError`` naming the file and the
row, and cannot swallow the rows after it: framing does not depend on quote
balance. Memory stays constant: the input is read in 1 MB chunks and only the
current record is held (at most ``MAX_RECORD_BYTES``; a longer one is
reported and skipped up to the next row start).

``source.row`` is the 1-based number of the record in the file (the Nth
record, counting bad ones), which for the full cables.csv equals the row-id
column; the error message also gives the line the record starts on (in a
regular file counted only for the records reported: ``FileLines``).

``meta``: ``reference_id``, ``created`` (``M/D/YYYY H:MM`` ->
``YYYY-MM-DDTHH:MM``), ``origin``, ``classification``, ``references_csv``
(the references column split on ``|``, as published) and ``csv_id`` (the
row-id column, as published).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Final

from ..errors import ParseError
from ..record import RawCable
from ._common import Keep, Skipped, raw_cable, trim_text

FORMAT: Final = "cables-csv"
COLUMNS: Final = 8
MAX_RECORD_BYTES = 64 * 1024 * 1024

# A line break, then the row id and date columns: a row start (found by _row_starts).
_ROW_START: Final = re.compile(rb'\n"(?=\d{1,9}","\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}",")')
_LOOKAHEAD: Final = 48  # bytes a row start needs after the line break to be recognised
_FILE_START: Final = re.compile(rb'(?:\xef\xbb\xbf)?[ \t\r\n]*"\d{1,9}","\d')
_BOM: Final = b"\xef\xbb\xbf"
_CREATED: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})$")
_ESCAPED: Final = re.compile(r"\\.", re.S)


# The default limit (128 KB) is below the longest real cables; a record is
# already bounded by MAX_RECORD_BYTES, so fields may be that long.
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))


# (registered by name, not a csv.Dialect subclass: the compiled build, setup.py,
# turns classes into native ones that the csv module cannot read settings from)
_DIALECT: Final = "cablegate-cables-csv"
csv.register_dialect(
    _DIALECT, delimiter=",", quotechar='"', escapechar="\\", doublequote=False,
    skipinitialspace=False, lineterminator="\n", quoting=csv.QUOTE_ALL, strict=True,
)


def looks_like(head: bytes) -> bool:
    """Does the input start like a cables.csv file?"""
    return _FILE_START.match(head) is not None


def created_iso(value: str) -> str | None:
    """``12/28/1966 18:48`` -> ``1966-12-28T18:48``; None when not that form."""
    m = _CREATED.match(value.strip())
    if m is None:
        return None
    month, day, year, hour, minute = m.groups()
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour) <= 23
            and int(minute) <= 59):
        return None
    if not value.isascii():  # digits of other scripts: written out as ASCII
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{int(minute):02d}"
    return f"{year}-{month.zfill(2)}-{day.zfill(2)}T{hour.zfill(2)}:{minute}"


def frame_records(
    chunks: Iterable[bytes], count_lines: bool = True
) -> Iterator[tuple[int, int, bytes | None]]:
    """(record number, where it starts, record bytes) per record; bytes None
    when oversized. Where: the line it starts on, or with ``count_lines``
    False its byte offset in the stream (counting the line breaks of every
    record is a fifth of the reader's work; ``read`` counts them in the file
    only for the records it reports, see ``FileLines``).

    A record runs from one row start to the next. An oversized record (no row
    start within ``MAX_RECORD_BYTES``) is discarded as it streams in, so
    memory stays bounded whatever the input.
    """
    carry = b""  # the unfinished record at the end of the previous chunk
    consumed = 0  # offset in the stream of data's (then carry's) first byte
    record_start = 0  # offset in the stream of the current record's first byte
    row = 0
    line = 1  # line the current record starts on
    skipped_lines = 0  # lines of the current record already discarded (oversized)
    oversized = False
    stream = iter(chunks)
    for chunk in stream:
        if len(carry) > len(chunk):
            chunk = _as_much_again(chunk, stream, len(carry))
        data = carry + chunk if carry else chunk
        # a row start needs its lookahead bytes: rescan the carried tail's last ones
        start = 0
        for m in _row_starts(data, max(0, len(carry) - _LOOKAHEAD)):
            end = m + 1
            row += 1
            # the line break before the next row start is not part of the record
            yield (row, line if count_lines else record_start,
                   None if oversized else data[start : end - 1])
            if count_lines:
                line += skipped_lines + data.count(b"\n", start, end)
                skipped_lines = 0
            record_start = consumed + end
            oversized = False
            start = end
        carry = data[start:] if start else data
        consumed += start
        if len(carry) > MAX_RECORD_BYTES:
            oversized = True
            cut = len(carry) - _LOOKAHEAD
            if count_lines:
                skipped_lines += carry.count(b"\n", 0, cut)
            carry = carry[cut:]
            consumed += cut
    if oversized or carry.strip():
        yield row + 1, line if count_lines else record_start, None if oversized else carry


def _as_much_again(chunk: bytes, stream: Iterator[bytes], carried: int) -> bytes:
    """The chunk and the next ones, about as many bytes as the record carried
    so far (at most up to ``MAX_RECORD_BYTES``): a record that spans many
    chunks is then copied a few times over, not once per chunk."""
    wanted = min(carried, MAX_RECORD_BYTES + 1 - carried)  # (not far past the limit)
    pieces = [chunk]
    size = len(chunk)
    while size < wanted:
        more = next(stream, b"")
        if not more:
            break
        pieces.append(more)
        size += len(more)
    return b"".join(pieces)


def _row_starts(data: bytes, position: int) -> Iterator[int]:
    """Offsets of the line breaks that open a row (``_ROW_START``), in order.
    (re's scan for the literal ``\\n"`` that opens the pattern is faster here
    than ``bytes.find`` looping over the same two bytes: measured, 6 against
    11 us per 8 KB row.)"""
    for match in _ROW_START.finditer(data, position):
        yield match.start()


def _quote_count(text: str) -> int:
    """Unescaped double quotes in a record (a well-formed record has 16)."""
    n = text.count('"')
    if "\\" not in text:
        return n
    if "\\\\" not in text:  # no escaped backslash: every \" is an escaped quote
        return n - text.count('\\"')
    return _ESCAPED.sub("", text).count('"')


def _split_fields(text: str) -> list[str]:
    """The fields of a record.

    A well-formed record is exactly ``"f1","f2",...,"f8"`` once escaped quotes
    are out of the way, so ``str.split`` on the quotes gives the fields (C
    speed); escaped quotes are parked on NUL meanwhile and every ``\\x``
    escape then becomes ``x``, as the csv module does. Any other shape goes
    through the ``csv`` module, whose reading of odd records is the reference.
    """
    simple = "\\" not in text
    if simple or ("\\\\" not in text and "\x00" not in text):
        parked = text if simple else text.replace('\\"', "\x00")
        parts = parked.split('"')
        if (
            len(parts) == 2 * COLUMNS + 1
            and parts[0] == ""
            and parts[-1] == ""
            and all(parts[i] == "," for i in range(2, 2 * COLUMNS, 2))
        ):
            fields = parts[1::2]
            return fields if simple else [_unescape(f.replace("\x00", '"')) for f in fields]
    rows = list(csv.reader((text,), _DIALECT))
    return rows[0] if len(rows) == 1 else []


def _unescape(field: str) -> str:
    return _ESCAPED.sub(_escaped_char, field) if "\\" in field else field


def _escaped_char(m: re.Match) -> str:
    return m.group(0)[1]


def _without_bom(chunks: Iterable[bytes]) -> tuple[Iterator[bytes], int]:
    """The chunks without a UTF-8 byte order mark, and its length (0: none)."""
    stream = iter(chunks)
    first = next(stream, b"")
    bom = len(_BOM) if first.startswith(_BOM) else 0
    return chain([first[bom:]], stream), bom


def parse_record(text: str, path: str, row: int) -> RawCable:
    """One framed record -> RawCable; ParseError naming path and row when
    malformed (``read`` adds the line the record starts on)."""
    if text[:1].isspace() or text[-1:].isspace():
        text = text.strip()  # blank lines between records are not part of them
    fields = _well_formed_fields(text)
    if fields is None:
        fields = _checked_fields(text, path, row)
    csv_id, created, refid, origin, classification, refs, header, body = fields
    meta: dict = {
        "reference_id": refid.strip(),
        "origin": origin.strip(),
        "classification": classification.strip(),
        "references_csv": [r.strip() for r in refs.split("|") if r.strip()] if refs else [],
        "csv_id": csv_id,
    }
    warnings: list[str] = []
    iso = created_iso(created)
    if iso is not None:
        meta["created"] = iso
    elif created.strip():
        warnings.append(f"unrecognised created date in cables.csv: {created.strip()!r}")
    return raw_cable(
        trim_text(header), trim_text(body), path, FORMAT, row=row, meta=meta, warnings=warnings
    )


def _well_formed_fields(text: str) -> list[str] | None:
    """The 8 fields of a record shaped exactly ``"f1","f2",...,"f8"``, or None.

    Walks from quote to quote with ``str.find`` (memchr: the long header and
    body fields are skipped at C speed, and nothing else scans them): a quote
    after an odd run of backslashes is escaped, any other ends the field,
    which must be followed by ``,"`` (or end the record, for the last field).
    Every other shape returns None and goes through ``_checked_fields``,
    whose verdict (and error message) is the reference; where this accepts a
    record, that path gives the same fields (16 unescaped quotes, 8 columns).
    """
    if text[:1] != '"' or "\x00" in text:
        return None
    fields: list[str] = []
    start = 1
    for column in range(COLUMNS):
        pieces: list[str] = []  # the field cut at its escaped quotes, backslash left out
        piece_start = start
        quote = text.find('"', start)  # (text.find itself: a C call when compiled)
        while quote > 0 and text[quote - 1] == "\\":
            # one backslash before the quote (nearly always): an escaped quote
            if text[quote - 2] == "\\" and _real_quote_after_backslash(text, quote, start):
                break
            pieces.append(text[piece_start : quote - 1])
            piece_start = quote  # the quote itself opens the next piece
            quote = text.find('"', quote + 1)
        if quote < 0:
            return None
        fields.append(_field_value(text, start, quote, pieces, piece_start))
        if column == COLUMNS - 1:
            return fields if quote == len(text) - 1 else None
        if text[quote + 1 : quote + 3] != ',"':
            return None
        start = quote + 3
    return None  # not reached


def _field_value(text: str, start: int, end: int, pieces: list[str], piece_start: int) -> str:
    """The field ``text[start:end]`` read as the csv module reads it (``\\x`` ->
    ``x``): its pieces between escaped quotes joined with the quotes; any
    other backslash (rare) goes through the regex."""
    if pieces:
        pieces.append(text[piece_start:end])
        value = "".join(pieces)
    else:
        value = text[start:end]
    if "\\" in value:
        return _ESCAPED.sub(_escaped_char, text[start:end])
    return value


def _real_quote_after_backslash(text: str, quote: int, start: int) -> bool:
    """Is the quote at ``quote`` a field's end despite the backslash before it?
    (An even run of backslashes: escaped backslashes, the quote is real.)"""
    run = 1
    while quote - run - 1 >= start and text[quote - run - 1] == "\\":
        run += 1
    return run % 2 == 0


def _checked_fields(text: str, path: str, row: int) -> list[str]:
    """The fields of any record the fast walk does not accept; ParseError when malformed."""
    quotes = _quote_count(text)
    if quotes % 2:
        raise ParseError(
            f"unbalanced double quotes: {quotes} found where {COLUMNS} quoted columns need "
            f"{2 * COLUMNS}",
            path=path,
            row=row,
        )
    try:
        fields = _split_fields(text)
    except csv.Error as err:
        raise ParseError(f"malformed CSV record: {err}", path=path, row=row) from None
    if len(fields) != COLUMNS:
        raise ParseError(
            f"{len(fields)} columns, expected {COLUMNS} columns", path=path, row=row
        )
    if quotes != 2 * COLUMNS:  # e.g. "Embassy "Teh"ran": parsed, but not as published
        raise ParseError(
            f"unescaped double quotes: {quotes} found where {COLUMNS} quoted columns need "
            f"{2 * COLUMNS}",
            path=path,
            row=row,
        )
    return fields


class FileLines:
    """The line a byte offset of an open file is on, counted when asked.

    The reader names the line a bad record starts on; counting the line
    breaks of every record as it streams by would cost a fifth of the
    reading. With a regular file they are counted only for the records
    reported, reading with ``os.pread`` (the position of the stream being
    read stays where it is), forward from the last answer.
    """

    def __init__(self, fileno: int) -> None:
        self.fileno = fileno
        self.offset = 0
        self.line = 1  # the line at self.offset

    def line_at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        while self.offset < offset:
            block = os.pread(self.fileno, min(offset - self.offset, 1 << 20), self.offset)
            if not block:
                break
            self.line += block.count(b"\n")
            self.offset += len(block)
        return self.line


def read(
    chunks: Iterable[bytes], path: str, keep: Keep | None = None,
    lines: FileLines | None = None,
) -> Iterator[RawCable | ParseError | Skipped]:
    """Every record of a cables.csv stream, as RawCable or ParseError (never
    raised); the rows ``keep`` declines as ``Skipped``, not decoded. With
    ``lines`` (the stream is a regular file), the lines errors name are
    counted only for them."""
    stream, bom = _without_bom(chunks)
    for row, where, record in frame_records(stream, count_lines=lines is None):
        if keep is not None and not keep():
            yield Skipped(path, len(record) if record is not None else 0)
            continue
        if record is None:
            yield ParseError(
                f"record starting at line {_line(where, bom, lines)} is longer than "
                f"{MAX_RECORD_BYTES:,} bytes (unterminated quote?)",
                path=path,
                row=row,
            )
            continue
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError as err:
            yield ParseError(
                f"invalid UTF-8 at byte {err.start} of the record starting at line "
                f"{_line(where, bom, lines)}",
                path=path,
                row=row,
            )
            continue
        try:
            yield parse_record(text, path, row)
        except ParseError as err:
            yield ParseError(
                f"{err.reason} (record starting at line {_line(where, bom, lines)})",
                path=path,
                row=row,
            )


def _line(where: int, bom: int, lines: FileLines | None) -> int:
    """The line a record starts on: ``where`` is that line, or with ``lines``
    its offset in the stream (after a byte order mark of ``bom`` bytes)."""
    return where if lines is None else lines.line_at(where + bom)
