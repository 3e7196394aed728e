"""Every URL of the public site, built in one place.

The scheme follows the original Cablegate site so old links keep working on a
new host: ``/cable/YYYY/MM/<REFID>.html`` and ``/<kind>/<value>_<page>.html``
browse pages (page numbers from 0, as the original). Every page URL ends in a
file extension, so ``cablegate export-site`` can write the very same paths as
static files; the JSON twin of a page is the same path with ``.json``.

Browse values are turned into *slugs* (``Embassy Moscow`` -> ``Embassy_Moscow``,
``SECRET//NOFORN`` -> ``SECRET_NOFORN``); the site maps a slug back to its value
through the archive's list of values (see ``SlugMap``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode

BROWSE_KINDS: tuple[str, ...] = ("reldate", "date", "origin", "tag", "classification")
BROWSE_TITLES: dict[str, str] = {
    "reldate": "release date",
    "date": "creation date",
    "origin": "origin",
    "tag": "tag",
    "classification": "classification",
}
FEED_KINDS: tuple[str, ...] = ("origin", "tag")

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")
_PAGE_SUFFIX = re.compile(r"^(?P<slug>.+)_(?P<page>\d{1,9})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})")
_REFID_YEAR = re.compile(r"^(\d{2})")


def slugify(value: str) -> str:
    """The URL (and file name) form of a browse value: letters, digits, . - and _."""
    slug = _SLUG_UNSAFE.sub("_", value).strip("_")
    return slug or "_"


def split_page(name: str) -> tuple[str, int] | None:
    """``'PGOV_3'`` -> ``('PGOV', 3)``; None when there is no page suffix."""
    match = _PAGE_SUFFIX.match(name)
    if not match:
        return None
    return match["slug"], int(match["page"])


def cable_year_month(created: str | None, reference_id: str = "") -> tuple[str, str]:
    """The ``YYYY``, ``MM`` of a cable's URL: from its creation date.

    A cable without one (rare: no DTG and no metadata) files under the year
    its reference ID states and month ``00``, so its URL is still stable.
    """
    if created:
        match = _ISO_DATE.match(created)
        if match:
            return match[1], match[2]
    match = _REFID_YEAR.match(reference_id)
    if match:
        yy = int(match[1])
        return (f"19{yy:02d}" if yy >= 40 else f"20{yy:02d}"), "00"
    return "0000", "00"


def cable_path(reference_id: str, created: str | None, ext: str = "html") -> str:
    year, month = cable_year_month(created, reference_id)
    return f"/cable/{year}/{month}/{quote(reference_id, safe='')}.{ext}"


def browse_path(kind: str, value: str, page: int = 0, ext: str = "html") -> str:
    """A browse page: ``/tag/PGOV_0.html``, ``/origin/Embassy_Moscow_2.json``."""
    return f"/{kind}/{quote(slugify(value), safe='')}_{page}.{ext}"


def index_path(kind: str, ext: str = "html") -> str:
    """The list of a kind's values with counts: ``/origin/index.html``."""
    return f"/{kind}/index.{ext}"


def feed_path(kind: str | None = None, value: str | None = None) -> str:
    """Atom feeds: site-wide ``/feed.atom``, ``/origin/Embassy_Moscow.atom``."""
    if kind is None or value is None:
        return "/feed.atom"
    return f"/{kind}/{quote(slugify(value), safe='')}.atom"


def search_path(query: str = "", ext: str = "", **params: object) -> str:
    """``/search?q=...`` (HTML) or ``/search.json?q=...``."""
    pairs: list[tuple[str, object]] = [("q", query)] if query else []
    pairs += [(k, v) for k, v in params.items() if v not in (None, "", 0)]
    path = "/search" + (f".{ext}" if ext else "")
    return path + ("?" + urlencode(pairs) if pairs else "")


def reasons_path(reason: str | None = None) -> str:
    """The page that explains classification reasons, at the reason's anchor."""
    return "/reasons.html" + (f"#{reason_anchor(reason)}" if reason else "")


def reason_anchor(reason: str) -> str:
    """``'1.4(b)'`` -> ``'r1.4b'`` (an id that needs no escaping)."""
    return "r" + re.sub(r"[^A-Za-z0-9.]", "", reason).lower()


def home_path(ext: str = "html") -> str:
    return "/" if ext == "html" else f"/index.{ext}"


def wikileaks_cable_url(reference_id: str, created: str | None) -> str:
    """The cable's address on the WikiLeaks cablegate site (same scheme as ours)."""
    return "https://wikileaks.org" + cable_path(reference_id, created)


def plusd_url(reference_id: str) -> str:
    """The cable's address in WikiLeaks' PlusD (``<ID>_a.html``)."""
    return f"https://wikileaks.org/plusd/cables/{quote(reference_id, safe='')}_a.html"


class SlugMap:
    """Slug -> value for one browse kind, built from the archive's value list.

    Slugs are readable rather than reversible; two values that differ only in
    punctuation would share a slug (none do in the corpus): the first value in
    the given order (most cables first) owns it.
    """

    def __init__(self, values: Iterable[str]) -> None:
        self.by_slug: dict[str, str] = {}
        for value in values:
            self.by_slug.setdefault(slugify(value), value)

    def value(self, slug: str) -> str | None:
        return self.by_slug.get(slug)
