"""Atom feeds of new releases: site-wide, per origin, per tag.

Built from the public gate only (``PublicArchive.latest`` / ``browse`` by
release time), so an embargoed cable never appears before its release.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .web import url_builder as urls

FEED_SIZE = 50


def _iso(value: str | None) -> str:
    """'2010-11-28 12:00' -> '2010-11-28T12:00:00Z' (the archive keeps UTC times)."""
    if not value:
        return "1970-01-01T00:00:00Z"
    text = value.replace("T", " ").strip()
    date, _, clock = text.partition(" ")
    clock = (clock or "00:00")[:5]
    return f"{date}T{clock}:00Z"


def _tag_uri(base_url: str, path: str) -> str:
    """An entry/feed id: the absolute URL, or a URN when the site's address is unknown."""
    return base_url + path if base_url else f"urn:cablegate:{path}"


def feed_entries(
    archive: Any, kind: str | None = None, value: str | None = None, limit: int = FEED_SIZE
) -> list[dict]:
    if kind is None:
        return archive.latest(limit)
    _, rows = archive.browse(kind, value, sort="-released", offset=0, limit=limit)
    return rows


def atom_feed(
    archive: Any,
    *,
    kind: str | None = None,
    value: str | None = None,
    base_url: str = "",
    limit: int = FEED_SIZE,
) -> str:
    """The Atom 1.0 document for the site (kind None) or one origin / tag."""
    base = base_url.rstrip("/")
    rows = feed_entries(archive, kind, value, limit)
    if kind is None:
        title, page = "Cable Viewer: new releases", "/"
    else:
        title = f"Cable Viewer: new releases, {urls.BROWSE_TITLES[kind]} {value}"
        page = urls.browse_path(kind, value or "")
    self_path = urls.feed_path(kind, value)
    updated = max((_iso(r.get("released")) for r in rows), default=_iso(None))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title>",
        f"<id>{escape(_tag_uri(base, self_path))}</id>",
        f"<updated>{updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(base + self_path)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + page)}/>',
        "<author><name>Cable Viewer</name></author>",
        "<generator>cablegate</generator>",
    ]
    for row in rows:
        out.append(_entry(row, base))
    out.append("</feed>")
    return "\n".join(out) + "\n"


def _entry(row: dict, base: str) -> str:
    refid = row["reference_id"]
    path = urls.cable_path(refid, row.get("created"))
    subject = row.get("subject") or ""
    title = f"{refid}: {subject}" if subject else refid
    summary = ", ".join(
        x
        for x in (
            row.get("classification"),
            row.get("origin"),
            f"created {row['created'][:10]}" if row.get("created") else None,
        )
        if x
    )
    categories = "".join(
        f"<category term={quoteattr(tag)} scheme={quoteattr(base + '/tag/')}/>"
        for tag in row.get("tags") or []
    )
    return (
        "<entry>"
        f"<title>{escape(title)}</title>"
        f"<id>{escape(_tag_uri(base, path))}</id>"
        f'<link rel="alternate" type="text/html" href={quoteattr(base + path)}/>'
        f"<published>{_iso(row.get('released'))}</published>"
        f"<updated>{_iso(row.get('released'))}</updated>"
        f"<summary>{escape(summary)}</summary>"
        f"{categories}"
        "</entry>"
    )
