"""Turning inputs into Cable records: format readers + field parsing, one entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import ParseError
from .formats import read_inputs
from .record import RawCable, Record
from .telegram import build_record


def record_from_raw(raw: RawCable) -> Record:
    """The record for one raw cable (a JSON Lines record passes through as is)."""
    if raw.record is not None:
        return raw.record
    return build_record(raw)


def parse_inputs(paths: Iterable[str | Path]) -> Iterator[Record | ParseError]:
    """Every cable in ``paths`` (files, directories, ``-`` for stdin), in order.

    Bad inputs are *yielded* as ``ParseError`` instances, never raised, so one
    bad file or CSV row never stops the others.
    """
    for item in read_inputs(paths):
        if isinstance(item, ParseError):
            yield item
            continue
        if not isinstance(item, RawCable):
            continue  # (a Skipped input: only when a reader is told to skip some)
        try:
            yield record_from_raw(item)
        except ParseError as err:
            yield err
        except RecursionError as err:  # pragma: no cover - defensive
            yield ParseError(f"cable too deeply nested to parse ({err})", **_where(item))


def _where(raw: RawCable) -> dict:
    return {"path": raw.source.get("path"), "row": raw.source.get("row")}


def parse_path(
    path: str | Path, on_error: Callable[[ParseError], None] | None = None
) -> Iterator[Record]:
    """The records in one path (file, directory or ``-``).

    Raises ``ParseError`` at the first bad input unless ``on_error`` is given,
    in which case it is called with each error and parsing goes on.
    """
    for item in parse_inputs([path]):
        if isinstance(item, ParseError):
            if on_error is None:
                raise item
            on_error(item)
        else:
            yield item


def parse_text(text: str, reference_id: str | None = None) -> Record:
    """Parse one cable given as text in any single-cable format.

    ``reference_id`` is used when the text does not state one.
    """
    from .formats import raw_from_text

    raw = raw_from_text(text, path="<text>", reference_id=reference_id)
    return record_from_raw(raw)
