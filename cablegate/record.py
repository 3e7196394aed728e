"""The Cable record: the contract every other part of cablegate reads.

A record is a plain ``dict`` with exactly the keys of ``FIELDS`` in that order,
so it serialises to the JSON Lines that ``cablegate parse`` prints and that other
tools consume. A field the cable does not have is ``None`` (scalars) or ``[]``
(lists); it is never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Field name -> kind ("str", "list", "bool", "dict"). Order is the JSON key order.
FIELDS: dict[str, str] = {
    "reference_id": "str",
    "created": "str",
    "released": "str",
    "classification": "str",
    "origin": "str",
    "origin_code": "str",
    "subject": "str",
    "tags": "list",
    "references": "list",
    "references_raw": "list",
    "recipients": "list",
    "info_recipients": "list",
    "signers": "list",
    "classified_by": "str",
    "classification_reasons": "list",
    "declassify_on": "str",
    "precedence": "str",
    "dtg": "str",
    "transmission_id": "str",
    "caveats": "list",
    "summary": "str",
    "paragraphs": "list",
    "media_urls": "list",
    "partial": "bool",
    "header": "str",
    "body": "str",
    "source": "dict",
    "warnings": "list",
}

Record = dict[str, Any]


def empty_record() -> Record:
    """A record with every field empty (None, [] or False)."""
    empty = {"str": None, "bool": False}
    return {
        name: ([] if kind == "list" else {} if kind == "dict" else empty[kind])
        for name, kind in FIELDS.items()
    }


def to_json(record: Record) -> str:
    """One JSON Lines line (no trailing newline), keys in contract order."""
    ordered = {name: record.get(name) for name in FIELDS}
    return json.dumps(ordered, ensure_ascii=False)


@dataclass
class RawCable:
    """What a format reader extracts from one input, before field parsing.

    ``header`` and ``body`` are the published cable texts with the publishing
    site's markup removed (HTML entities decoded, tag and paragraph anchors
    reduced to their text / removed) but otherwise unaltered. ``meta`` holds the
    metadata the source states outside the cable text, with record field names
    as keys (``reference_id``, ``created``, ``released``, ``classification``,
    ``origin``, ``subject``, ``tags``, ``media_urls``, ``partial`` ...); values
    given here win over values derived from the text.

    Record-field keys hold record-ready values (``created``/``released`` as
    ``YYYY-MM-DDTHH:MM``; ``reference_id`` as published, e.g. PlusD
    ``1974ATHENS02959`` or ``7575LIBREVILLE1895``: canonicalising is ids'
    job). ``partial`` is only set (True) when the source says so. Other keys:

    * ``reference_id_hint``: a fallback ID (file-name stem such as
      ``07MOSCOW2205.txt``, or ``parse_text(reference_id=...)``), used only
      when neither ``reference_id`` nor the text gives one.
    * ``created_date``: ``YYYY-MM-DD`` when the source gives a date without a
      time (alx Ruby time, PlusD Draft Date); ``created`` is then not set.
    * ``references_csv``: the cables.csv references column split on ``|``.
    * ``csv_id``: the cables.csv row-id column; ``plusd``: every PlusD
      metadata field (``n/a`` dropped), as published.

    ``source`` is ``{"path", "format", "row"}``; ``row`` is the 1-based record
    number for cables.csv, the line number for JSON Lines, else None.
    """

    header: str | None
    body: str | None
    source: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # A complete record (JSON Lines round trip): used as is, no field parsing.
    record: Record | None = None
