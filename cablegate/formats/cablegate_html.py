"""Cablegate site pages (cablegate.wikileaks.org and its torrent ``cable/`` tree).

All three layouts carry the same cable markup -- the ``<table class='cable'>``
metadata table followed by a header ``<pre>`` and a body ``<pre>`` -- and
differ in the sidebar, which tells them apart:

* ``cablegate-html-2011-08-final``: the counter reads ``251287 / 251,287``;
* ``cablegate-html-2010-12``: the page loads ``/static/js/js.js`` (the 2010
  builds; the 2011-04 mirror still holds two such stale pages, which are
  reported with this id because that is the layout they have);
* ``cablegate-html-2011-04``: the page loads ``/static/js/cables.js``.

The pages are not well-formed XML (raw ``&`` and ``"`` inside ``<pre>``), so
this reader cuts the known markup with ``str.find`` and small regexes instead
of building a DOM: about 0.1 ms per 69 KB page.

What it extracts (see ``RawCable``):

* ``meta``: ``reference_id`` (as published, e.g. ``7575LIBREVILLE1895``),
  ``created`` / ``released`` (``YYYY-MM-DDTHH:MM``), ``classification`` (the
  visible link text; the ``title`` attribute is wrong on most pages),
  ``origin``, ``media_urls`` (the "Appears in these articles" row, when there
  is one) and ``partial`` (True when the page carries the partial-extract
  notice).
* ``header`` / ``body``: the two ``<pre>`` texts with ``&#x000A;`` decoded,
  TAGS links reduced to their text and paragraph anchors removed entirely,
  which gives back the telegram text (the site also put false anchors before
  numbers that start a line, e.g. a year: removing the markup restores them).
  Other markup-looking text inside ``<pre>`` (``<br>``, ``< /a>``) is cable
  text as published and is kept. The partial-extract notice is removed from
  the start of the header (or of the body, if the header is empty).

Media links: the site linked each word of the field to ``"http://" + word``,
so an entry that already had a scheme got a doubled one (``<a
href='http://http://host/...'>http://host/...</a>``) and a bare host got one
(``<a href='http://www.spiegel.de'>www.spiegel.de</a>``). ``media_urls`` holds
each link's target with the doubled scheme undone: the URL as published, in a
form that works. Some fields held a note rather than URLs ("Yedioth Ahronot
only goes out in print", split into one link per word): those links are kept
as published and listed in a warning.
"""

from __future__ import annotations

import re

from ..errors import ParseError
from ..record import RawCable
from ._common import fail, iso_minute, raw_cable, take_partial_notice, unescape_entities

FORMAT_2010_12 = "cablegate-html-2010-12"
FORMAT_2011_04 = "cablegate-html-2011-04"
FORMAT_FINAL = "cablegate-html-2011-08-final"

_TABLE_OPEN = "<table class='cable'>"
_PRE_OPEN = "<code><pre>"
_PRE_CLOSE = "</pre></code>"
_NEWLINE_ENTITY = "&#x000A;"

_CELL_LINK = re.compile(r"<a href='([^'<>]*)'(?: title='[^'<>]*')?>([^<]*)</a>")
_MEDIA_LINK = re.compile(r"<a href='([^'<>]*)'>([^<]*)</a>")
# Paragraph anchors go entirely (a literal replacement keeps re.sub in C).
_PAR_ANCHOR = re.compile(r"<a id='par[^'<>]{0,16}' href='#par[^'<>]{0,16}'>¶</a>")
_TAG_OPEN = "<a href='/tag/"
_COUNTER = re.compile(r"released so far\.\.\. *(\d+) */")
_NOT_A_CABLE = "no cable table found (truncated or not a cable page?)"


def looks_like(text: str) -> bool:
    """A Cablegate site page (or what is left of one)."""
    head = text[:2048]
    return ("<title>Cable Viewer</title>" in head) or (_TABLE_OPEN in text)


def page_layout(text: str) -> str:
    """The format id of a page, from its sidebar (see the module docstring)."""
    m = _COUNTER.search(text, 0, 4096)
    if m is not None and m.group(1) == "251287":
        return FORMAT_FINAL
    tail = text[-2048:]
    if "/static/js/js.js" in tail:
        return FORMAT_2010_12
    if "/static/js/cables.js" in tail:
        return FORMAT_2011_04
    # No script tag (page cut after the cable): the 2011 sidebar has month pickers.
    return FORMAT_2011_04 if "<div class='pick'>" in text[:8192] else FORMAT_2010_12


def clean_pre(raw: str) -> str:
    """A ``<pre>`` block's text: markup reduced, ``&#x000A;`` and other entities decoded."""
    if "<a " in raw:
        raw = _PAR_ANCHOR.sub("", raw)
        if _TAG_OPEN in raw:
            raw = _tag_links_to_text(raw)
    text = raw.replace(_NEWLINE_ENTITY, "\n")
    return unescape_entities(text)


def _tag_links_to_text(raw: str) -> str:
    """``<a href='/tag/PGOV_0.html'>PGOV</a>`` -> ``PGOV`` (a handful per page: a plain loop)."""
    parts = raw.split(_TAG_OPEN)
    out = [parts[0]]
    for part in parts[1:]:
        gt = part.find("'>")
        close = part.find("</a>", gt)
        if gt < 0 or close < 0 or "<" in part[gt + 2 : close] or "'" in part[:gt]:
            out.append(_TAG_OPEN + part)  # not the site's tag link: keep as published
        else:
            out.append(part[gt + 2 : close] + part[close + 4 :])
    return "".join(out)


def _media_urls(table: str, start: int) -> tuple[list[str], list[str]]:
    """The article links of the media row, and the link texts that are not URLs."""
    urls: list[str] = []
    not_urls: list[str] = []
    for href, label in _MEDIA_LINK.findall(table, start):
        href, label = "".join(href.split()), "".join(label.split())
        # The site linked each word of the field to "http://" + word.
        url = href[len("http://") :] if href.startswith("http://http") else href
        url = unescape_entities(url or label)
        if url:
            urls.append(url)
            host = url.split("://", 1)[-1].split("/", 1)[0]
            if "." not in host:
                not_urls.append(label or url)
    return urls, not_urls


def _table_meta(table: str, path: str) -> tuple[dict, list[str]]:
    """Metadata from the cable table: 5 cells, and the optional media row."""
    rows_end = table.find("</tr>", table.find("</tr>") + 5)  # end of the value row
    cells = _CELL_LINK.findall(table, 0, rows_end if rows_end > 0 else len(table))
    if len(cells) < 5:
        raise fail(f"cable table has {len(cells)} of its 5 cells (truncated page?)", path)
    (_, refid), (_, created), (_, released), (_, classification), (_, origin) = cells[:5]
    meta: dict = {
        "reference_id": refid.strip(),
        "classification": classification.strip(),
        "origin": origin.strip(),
    }
    warnings: list[str] = []
    for key, value in (("created", created), ("released", released)):
        iso = iso_minute(value)
        if iso is not None:
            meta[key] = iso
        elif value.strip():
            warnings.append(f"unrecognised {key} date on the page: {value.strip()!r}")
    media_at = table.find("Appears in these articles", rows_end if rows_end > 0 else 0)
    if media_at >= 0:
        meta["media_urls"], not_urls = _media_urls(table, media_at)
        if not_urls:
            warnings.append(
                "media links that are not URLs (kept as published): " + " ".join(not_urls)
            )
    return meta, warnings


def _pre_blocks(text: str, start: int, path: str) -> tuple[str, str]:
    """The raw contents of the header and body ``<pre>`` blocks after ``start``."""
    blocks = []
    pos = start
    for name in ("header", "body"):
        open_at = text.find(_PRE_OPEN, pos)
        if open_at < 0:
            raise fail(f"no {name} <pre> block after the cable table (truncated page?)", path)
        close_at = text.find(_PRE_CLOSE, open_at)
        if close_at < 0:
            raise fail(f"the {name} <pre> block is not closed (truncated page?)", path)
        blocks.append(text[open_at + len(_PRE_OPEN) : close_at])
        pos = close_at + len(_PRE_CLOSE)
    return blocks[0], blocks[1]


def read(text: str, path: str) -> RawCable:
    """One cable from the text of a Cablegate page; ParseError if it has none."""
    # The table sits after a sidebar of 60-190 KB and before the cable: search from the end.
    table_at = text.rfind(_TABLE_OPEN)
    if table_at < 0:
        raise fail(_NOT_A_CABLE, path)
    table_end = text.find("</table>", table_at)
    if table_end < 0:
        raise fail("the cable table is not closed (truncated page?)", path)
    meta, warnings = _table_meta(text[table_at:table_end], path)
    header_raw, body_raw = _pre_blocks(text, table_end, path)
    header, body = clean_pre(header_raw), clean_pre(body_raw)
    header, partial = take_partial_notice(header)
    if not partial and not header.strip():
        body, partial = take_partial_notice(body)
    if partial:
        meta["partial"] = True
    return raw_cable(header, body, path, page_layout(text), meta=meta, warnings=warnings)


def read_or_error(text: str, path: str) -> RawCable | ParseError:
    try:
        return read(text, path)
    except ParseError as err:
        return err
