"""Field parsing: from a RawCable's header/body texts and metadata to a Record."""

from __future__ import annotations

from .record import RawCable, Record


def build_record(raw: RawCable) -> Record:  # pragma: no cover - being written
    raise NotImplementedError
