"""One reader per input format; format detection from content.

Public interface (used by ``cablegate.parse``):

* ``read_inputs(paths) -> Iterator[RawCable | ParseError]``: walks files,
  directories (recursively, sorted) and ``-`` (stdin); detects each file's
  format from its content; yields one ``RawCable`` per cable, or a
  ``ParseError`` (yielded, not raised) for each rejected file or CSV row.
* ``read_inputs(paths, keep)``: the same, but every input for which ``keep()``
  says False (asked once per input, in order, before it is parsed) comes as a
  ``Skipped`` placeholder, unparsed: ingest's parse workers each parse their
  share and only count the rest.
* ``raw_from_text(text, path, reference_id=None) -> RawCable``: one cable from
  a text in any single-cable format; raises ``ParseError``.

Formats (``source.format``) and their modules:

==============================  ===================  ==============================
format id                       module               recognised by (content only)
==============================  ===================  ==============================
``wikileaks-cable-pdf``         ``pdf``              ``%PDF-`` magic
``cables-csv``                  ``cables_csv``       starts ``"<digits>","<digit>``
``jsonl``                       ``jsonl``            starts with ``{``
``cablegate-html-*``            ``cablegate_html``   ``Cable Viewer`` title / cable table
``plusd-html``                  ``plusd``            PlusD page with a Raw content pane
``reveal-body-txt``             ``plaintext``        starts with ``<code><pre>``
``repost``                      ``repost``           flattened "Reference ID Created ..." line
                                                     (in a text file, or an HTML page's text)
``alx-txt``                     ``plaintext``        5-line preamble (ID, subject, Ruby time ...)
``text``                        ``plaintext``        two kinds of telegram line (DTG, FM, TO,
                                                     SUBJECT, TAGS, E.O., classification line ...)
==============================  ===================  ==============================

The file name is never used to pick a format; it only supplies
``meta['reference_id_hint']`` (``07MOSCOW2205.txt``) for formats whose text
may not state the reference ID.

Rejected, each as one ``ParseError`` naming the input: a missing or unreadable
path; an empty (or whitespace-only) file; binary data (NUL bytes or mostly
control characters); invalid UTF-8 (not decoded with replacement: a cable with
mangled characters would be published silently wrong); a file over 64 MB
unless it is cables.csv or JSON Lines (those stream in constant memory); a
line over 4 MB in a plain-text format; an HTML page that is not a cable page;
a truncated page; a text with no sign of a telegram.

Directory walks read every file except hidden ones (``.*``, also hidden
directories) and documentation that travels with cable collections, skipped
by name: ``*.md``, ``*.rst``, ``*.tsv`` and ``README*``, ``LICENSE*``,
``MANIFEST*``, ``SOURCES*``, ``CHANGELOG*`` (so ``cablegate parse
../shared/corpus`` reads exactly its cables). Any other file found in a walk
that is not a cable is rejected like an explicitly named one; a file named
explicitly is always read, whatever its name.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO

from ..errors import ParseError
from ..record import RawCable
from . import cablegate_html, cables_csv, jsonl, pdf, plaintext, plusd, repost
from ._common import Keep, Skipped, fail

__all__ = ["read_inputs", "raw_from_text", "raw_from_bytes", "Skipped"]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_CHARS = 4 * 1024 * 1024
SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 256 * 1024  # (a chunk and the records cut from it stay in a core's L2 cache)
CONTROL_SAMPLE = 4096  # binary data shows from its first bytes
STDIN = "-"

_DOC_SUFFIXES = {".md", ".rst", ".tsv"}
_DOC_PREFIXES = ("README", "LICENSE", "MANIFEST", "SOURCES", "CHANGELOG")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 32), 127])
_HTML_START = re.compile(r"\s*(?:<\?xml|<!DOCTYPE|<html|<head|<body|<table|<div|<pre|<code)", re.I)


def read_inputs(
    paths: Iterable[str | Path], keep: Keep | None = None
) -> Iterator[RawCable | ParseError | Skipped]:
    """Every cable in ``paths`` (files, directories, ``-``), in order; errors
    yielded; the inputs ``keep`` declines as ``Skipped``."""
    for given in paths:
        name = os.fspath(given)
        if name == STDIN:
            yield from read_stream(sys.stdin.buffer, "<stdin>", keep)
        elif os.path.isdir(name):
            for file in walk(name):
                yield from read_file(file, keep)
        else:
            yield from read_file(name, keep)


def walk(directory: str) -> Iterator[str]:
    """Files under ``directory``, sorted, depth first; hidden entries and docs skipped."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and not is_documentation(name):
                yield os.path.join(root, name)


def is_documentation(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in _DOC_SUFFIXES or name.upper().startswith(
        _DOC_PREFIXES
    )


def read_file(path: str, keep: Keep | None = None) -> Iterator[RawCable | ParseError | Skipped]:
    try:
        handle = open(path, "rb")  # closed by the with block below
    except FileNotFoundError:
        yield ParseError("no such file or directory", path=path)
        return
    except OSError as err:
        yield ParseError(f"cannot read: {err.strerror or err}", path=path)
        return
    with handle:
        try:
            yield from read_stream(handle, path, keep)
        except OSError as err:  # e.g. an I/O error half way through
            yield ParseError(f"cannot read: {err.strerror or err}", path=path)


def _file_lines(stream: BinaryIO) -> cables_csv.FileLines | None:
    """Line numbers counted when asked, for a regular file (a pipe cannot be
    read twice: its lines are counted as it streams by)."""
    try:
        if stream.seekable():
            return cables_csv.FileLines(stream.fileno())
    except (OSError, ValueError, AttributeError):  # (no file descriptor: e.g. BytesIO)
        pass
    return None


def read_stream(
    stream: BinaryIO, path: str, keep: Keep | None = None
) -> Iterator[RawCable | ParseError | Skipped]:
    """The cables in one input stream: streamed formats chunk by chunk, others whole."""
    head = stream.read(SNIFF_BYTES)
    if cables_csv.looks_like(head) or jsonl.looks_like(head):
        chunks = chain([head], iter(lambda: stream.read(CHUNK_BYTES), b""))
        if cables_csv.looks_like(head):
            yield from cables_csv.read(chunks, path, keep, _file_lines(stream))
        else:
            yield from jsonl.read(chunks, path, keep)
        return
    if keep is not None and not keep():
        yield Skipped(path, _stream_size(stream, len(head)))
        return
    if not pdf.looks_like(head) and (b"\x00" in head or head.startswith(_UTF16_BOMS)):
        yield ParseError(_binary_reason(head), path=path)  # without reading the rest
        return
    data = head + stream.read(MAX_FILE_BYTES + 1 - len(head)) if len(head) == SNIFF_BYTES else head
    if len(data) > MAX_FILE_BYTES:
        yield ParseError(
            f"file is over {MAX_FILE_BYTES >> 20} MB; only cables.csv and JSON Lines inputs "
            "may be that large",
            path=path,
        )
        return
    try:
        yield raw_from_bytes(data, path)
    except ParseError as err:
        yield err
    except RecursionError:
        yield ParseError("input nested too deeply to read", path=path)


def _stream_size(stream: BinaryIO, default: int) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return default


def raw_from_bytes(data: bytes, path: str, reference_id: str | None = None) -> RawCable:
    """One cable from the bytes of a single-cable file; raises ParseError."""
    if not data or data.isspace():
        raise fail("empty file" if not data else "empty file (whitespace only)", path)
    if pdf.looks_like(data):
        return pdf.read(data, path, reference_id)
    if b"\x00" in data[:SNIFF_BYTES] or data.startswith(_UTF16_BOMS):
        raise fail(_binary_reason(data), path)
    head = data[:CONTROL_SAMPLE]
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) > max(8, len(head) // 100):
        raise fail("binary data, not a text cable (control characters)", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise fail(
            f"invalid UTF-8 at byte {err.start} (cables are read as UTF-8 text)", path
        ) from None
    return raw_from_text(text, path, reference_id)


def raw_from_text(text: str, path: str, reference_id: str | None = None) -> RawCable:
    """One cable from a text in any single-cable format; raises ParseError.

    ``reference_id`` (like a file name) is passed on as
    ``meta['reference_id_hint']``, used when the text does not state one.
    """
    text = text.removeprefix("\ufeff")
    if not text or text.isspace():
        raise fail("empty input", path)
    raw = _dispatch(text, path, reference_id)
    if reference_id and "reference_id" not in raw.meta and raw.record is None:
        raw.meta.setdefault("reference_id_hint", reference_id)
    return raw


def _dispatch(text: str, path: str, reference_id: str | None) -> RawCable:
    if cablegate_html.looks_like(text):
        return cablegate_html.read(text, path)
    if plusd.looks_like(text):
        return plusd.read(text, path)
    if plaintext.is_reveal(text):
        return plaintext.read_reveal(text, path)
    head = text[:SNIFF_BYTES].encode("utf-8", "replace")
    if cables_csv.looks_like(head) or jsonl.looks_like(head):
        return _single_streamed(text, path)
    if _HTML_START.match(text):
        # a blog page re-posting a cable, saved as HTML: read its visible text
        visible = repost.html_text(text)
        if repost.looks_like(visible):
            return repost.read(visible, path)
        raise fail(
            "HTML page that is not a cable page (no Cablegate cable table, no PlusD raw "
            "content pane, no re-posted cable)",
            path,
        )
    if _mostly_control(text):
        raise fail("binary data, not a text cable (control characters)", path)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    _check_line_length(text, path)
    if repost.looks_like(text):
        return repost.read(text, path)
    if plaintext.is_alx(text):
        return plaintext.read_alx(text, path)
    if plaintext.telegram_marks(text) >= 2:
        return plaintext.read_text(text, path, reference_id)
    raise fail(
        "not a cable: no telegram header, classification line or SUBJECT/TAGS/E.O. lines found",
        path,
    )


def _single_streamed(text: str, path: str) -> RawCable:
    """A CSV row or JSON line given as text: exactly one cable expected."""
    data = text.encode("utf-8")
    module = cables_csv if cables_csv.looks_like(data[:SNIFF_BYTES]) else jsonl
    items = list(module.read([data], path))
    for item in items:
        if isinstance(item, ParseError):
            raise item
    if len(items) != 1:
        raise fail(f"the text holds {len(items)} cables, expected one (use parse_path)", path)
    return items[0]


def _binary_reason(head: bytes) -> str:
    if head.startswith(_UTF16_BOMS):
        return "UTF-16 text (cables are read as UTF-8)"
    return "binary data, not a text cable (NUL bytes)"


def _mostly_control(text: str) -> bool:
    """More than 1% control characters (other than tab, CR, LF, FF) in the first 4 KB."""
    head = text[:CONTROL_SAMPLE]
    controls = len(_CONTROL.findall(head))
    return controls > max(8, len(head) // 100)


def _check_line_length(text: str, path: str) -> None:
    """No plain-text telegram has a line of megabytes: reject (linear scan, rarely needed)."""
    if len(text) <= MAX_LINE_CHARS:
        return
    pos = 0
    number = 1
    while True:
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        if end - pos > MAX_LINE_CHARS:
            raise fail(
                f"line {number} is {end - pos:,} characters long: not a telegram "
                f"(limit {MAX_LINE_CHARS >> 20} MB)",
                path,
            )
        if nl < 0:
            return
        pos = nl + 1
        number += 1
