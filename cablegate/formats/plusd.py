"""WikiLeaks PlusD pages (1973-79 State Department telegrams, NARA AAD-derived).

A PlusD page has tabbed panes (``div.pane-tab`` with a ``div.pane-header``
title). The ``Raw content`` pane holds the telegram text (HTML entities
escaped; decoded here), the ``Metadata`` pane a YAML-like ``Key: value`` list
of AAD fields (continuation lines indented; values may be quoted, tagged
``! '...'``).

The telegram text is split into header (``PAGE 01 ...``, ``ACTION``/``INFO``
distribution lines, DTG, ``FM``/``TO``/``INFO``) and body at the
classification line (``LIMITED OFFICIAL USE ATHENS 2959``).

``meta``:

* ``reference_id``: the ``Document Number`` as published, in PlusD form
  (``1974ATHENS02959``: four-digit year, zero-padded serial); turning it into
  the Cablegate form is ``ids``' job.
* ``classification``: ``Original Classification`` (the cable as sent; the
  ``Current Classification`` is the later review's).
* ``subject``, ``tags`` (the ``TAGS`` list; person tags such as
  ``(KALOUDIS, NICK)`` kept whole; repeats dropped).
* ``created_date``: ``Draft Date`` as ``YYYY-MM-DD`` (PlusD gives no time,
  so ``created`` is not set).
* ``plusd``: every metadata field as published (``n/a`` values left out).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from ..record import RawCable
from ._common import fail, month_number, raw_cable, serial_of, split_header_body, trim_text

FORMAT = "plusd-html"

_KEY_LINE = re.compile(r"^([A-Za-z][A-Za-z /()-]{0,60}):(?: (.*))?$")
_DRAFT_DATE = re.compile(r"^(\d{1,2}) ([A-Za-z]{3}) (\d{4})$")


def looks_like(text: str) -> bool:
    head = text[:8192]
    return ("/plusd/" in head or "PlusD" in head) and 'pane-header">Raw content<' in text


def _panes(text: str) -> dict[str, str]:
    """Pane title -> pane text (entities decoded by the HTML parser)."""
    tree = LexborHTMLParser(text)
    panes: dict[str, str] = {}
    for tab in tree.css("div.pane-tab"):
        title = tab.css_first("div.pane-header")
        content = tab.css_first("div.pane-content")
        if title is not None and content is not None:
            panes.setdefault(title.text(strip=True), content.text(deep=True, separator=""))
    return panes


def _yaml_value(value: str) -> str:
    """A YAML-ish scalar as text: tag and quotes dropped, folded lines joined."""
    value = value.strip()
    if value.startswith("! "):
        value = value[2:].lstrip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].replace("''", "'")
    # Folding: a blank line is a line break, a single line break a space.
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", value)]
    return "\n".join(p for p in paragraphs if p)


def parse_metadata(pane: str) -> dict[str, str]:
    """The ``Key: value`` list of the Metadata pane, continuation lines folded in."""
    fields: dict[str, str] = {}
    key = None
    for line in pane.splitlines():
        if line.strip() == "---":
            continue
        m = None if line[:1] in (" ", "\t") else _KEY_LINE.match(line)
        if m is not None:
            key = m.group(1).strip()
            fields[key] = m.group(2) or ""
        elif key is not None:
            fields[key] += "\n" + line
    return {k: _yaml_value(v) for k, v in fields.items()}


def _split_tags(value: str) -> list[str]:
    """``PINS, GR, (KALOUDIS, NICK)`` -> ``['PINS', 'GR', '(KALOUDIS, NICK)']``; repeats dropped."""
    tags: list[str] = []
    for m in re.finditer(r"\([^()]*\)|[^,()]+", value):
        tag = " ".join(m.group(0).split())
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _meta(fields: dict[str, str]) -> dict:
    def given(key: str) -> str | None:
        value = fields.get(key)
        return value if value and value.lower() != "n/a" else None

    meta: dict = {"plusd": {k: v for k, v in fields.items() if v and v.lower() != "n/a"}}
    if given("Document Number"):
        meta["reference_id"] = given("Document Number")
    classification = given("Original Classification") or given("Current Classification")
    if classification:
        meta["classification"] = classification
    if given("Subject"):
        meta["subject"] = given("Subject")
    tags = given("TAGS")
    if tags:
        meta["tags"] = _split_tags(tags)
    m = _DRAFT_DATE.match(given("Draft Date") or "")
    if m is not None and month_number(m.group(2)):
        meta["created_date"] = f"{m.group(3)}-{month_number(m.group(2)):02d}-{int(m.group(1)):02d}"
    return meta


def read(text: str, path: str) -> RawCable:
    """The telegram of a PlusD page; ParseError if the page has no raw content pane."""
    panes = _panes(text)
    raw = panes.get("Raw content")
    if raw is None or not raw.strip():
        raise fail("PlusD page without a 'Raw content' pane (truncated page?)", path)
    meta = _meta(parse_metadata(panes.get("Metadata", "")))
    serial = serial_of(meta.get("reference_id"))
    header, body, warnings = split_header_body(raw.strip("\r\n"), serial)
    return raw_cable(trim_text(header), trim_text(body), path, FORMAT, meta=meta, warnings=warnings)
