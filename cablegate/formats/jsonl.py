"""JSON Lines written by ``cablegate parse`` (the round trip), streamed.

Each non-blank line must be one JSON object with exactly the record
contract's keys (``record.FIELDS``) and the right types: ``str`` fields a
string or null, ``list`` fields a list (of strings; ``paragraphs`` of objects),
``bool`` a boolean, ``dict`` an object. A valid line becomes a ``RawCable``
whose ``record`` is that object, used as is (its ``source`` still names the
input it was first parsed from). A bad line is a ``ParseError`` whose ``row``
is the line number; the other lines still parse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ..errors import ParseError
from ..record import FIELDS, RawCable, Record
from ._common import Keep, Skipped

FORMAT = "jsonl"
MAX_LINE_BYTES = 256 * 1024 * 1024
_LIST_OF = {"paragraphs": dict}
_TYPES = {"str": str, "list": list, "bool": bool, "dict": dict}


def looks_like(head: bytes) -> bool:
    """Starts with a JSON object (no cable format does): read as records, or rejected per line."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def iter_lines(chunks: Iterable[bytes], max_len: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each line; None for a line longer than ``max_len`` (skipped)."""
    buf = bytearray()
    number = 0
    overlong = False
    for chunk in chunks:
        buf += chunk
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            number += 1
            yield number, (None if overlong else bytes(buf[start:nl]))
            overlong = False
            start = nl + 1
        del buf[:start]
        if len(buf) > max_len:
            overlong = True
            buf.clear()
    if overlong or buf:
        yield number + 1, (None if overlong else bytes(buf))


def check_record(obj: object) -> Record:
    """The object as a record, or ValueError saying what breaks the contract."""
    if not isinstance(obj, dict):
        raise ValueError(f"a JSON {type(obj).__name__}, not an object")
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        raise ValueError("missing record keys: " + ", ".join(missing))
    extra = [k for k in obj if k not in FIELDS]
    if extra:
        raise ValueError("unknown record keys: " + ", ".join(sorted(extra)))
    for key, kind in FIELDS.items():
        value = obj[key]
        if value is None and kind == "str":
            continue
        if not isinstance(value, _TYPES[kind]) or (kind != "bool" and isinstance(value, bool)):
            raise ValueError(f"{key} is a {type(value).__name__}, expected {kind}")
        if kind == "list" and isinstance(value, list):
            item_type = _LIST_OF.get(key, str)
            bad = next((v for v in value if not isinstance(v, item_type)), None)
            if bad is not None or (item_type is str and any(v is None for v in value)):
                raise ValueError(
                    f"{key} holds a {type(bad).__name__}, expected {item_type.__name__}"
                )
    return {key: obj[key] for key in FIELDS}


def read(
    chunks: Iterable[bytes], path: str, keep: Keep | None = None
) -> Iterator[RawCable | ParseError | Skipped]:
    """Every record of a JSON Lines stream (RawCable with ``record`` set) or
    ParseError; the lines ``keep`` declines as ``Skipped``, not decoded."""
    for number, line in iter_lines(chunks, MAX_LINE_BYTES):
        if line is None:
            yield ParseError(f"line longer than {MAX_LINE_BYTES >> 20} MB", path=path, row=number)
            continue
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        if keep is not None and not keep():
            yield Skipped(path, len(line))
            continue
        try:
            record = check_record(json.loads(line))
        except UnicodeDecodeError as err:
            yield ParseError(f"invalid UTF-8 at byte {err.start}", path=path, row=number)
            continue
        except RecursionError:
            yield ParseError("JSON nested too deeply", path=path, row=number)
            continue
        except ValueError as err:  # json.JSONDecodeError is a ValueError too
            yield ParseError(f"not a cablegate record: {err}", path=path, row=number)
            continue
        source = {"path": path, "format": FORMAT, "row": number}
        yield RawCable(header=record["header"], body=record["body"], source=source, record=record)
