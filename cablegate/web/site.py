"""The public site's pages, built from the PublicArchive: HTML and JSON twin.

``Site`` knows nothing about HTTP: the FastAPI app (``app.py``) and the static
mirror (``cablegate.export``) both call it, so a page is byte-for-byte the same
whether it is served live or from a mirror.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from .. import ids
from . import cabletext
from . import url_builder as urls
from .discuss import cable_discussion
from .histogram import histogram_svg

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 20
BROWSE_SORTS: dict[str, str] = {
    "-created": "newest first",
    "created": "oldest first",
    "-released": "latest released",
    "released": "earliest released",
    "reference_id": "reference ID",
}
DEFAULT_SORT = {
    "reldate": "-created",
    "date": "created",
    "origin": "-created",
    "tag": "-created",
    "classification": "-created",
}
SEARCH_SORTS: dict[str, str] = {
    "relevance": "relevance",
    "-created": "newest first",
    "created": "oldest first",
    "released": "release date",
}
# Titles of the classification regimes in the shipped reference data.
REGIMES: dict[str, str] = {
    "EO12958_as_amended_2003_sec1.4": "E.O. 12958 as amended by E.O. 13292 (2003), Sec. 1.4",
    "EO13526_2009_sec1.4": "E.O. 13526 (2009), Sec. 1.4",
    "EO12958_1995_sec1.5": "E.O. 12958 (1995), Sec. 1.5",
    "EO12356_1982_sec1.3a": "E.O. 12356 (1982), Sec. 1.3(a)",
}
DEMO_NOTICE = "SYNTHETIC DEMO CABLE"


class NotFound(Exception):
    """The page does not exist (unknown or embargoed cable, unknown value)."""


class BadRequest(Exception):
    """A request the site cannot answer as asked (bad sort, bad query syntax)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class Page:
    """One rendered page: its canonical path, the HTML and the JSON twin."""

    path: str
    html: str
    data: dict[str, Any]
    status: int = 200
    json_path: str | None = None
    depends: set[str] = field(default_factory=set)  # reference IDs it shows


# Names a plain dict has as attributes (methods): ``d.items`` is the method in Jinja.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, reading ``x.name`` on a plain dict as the key first.

    Jinja tries ``getattr(x, "name")`` first, and a plain dict has no attribute
    of that name unless it is one of dict's own: an AttributeError raised and
    caught per lookup (~50 per cable page: a tenth of its template's time) before
    it reads ``x["name"]``. Same result: dict's own names still go to Jinja.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def make_environment(templates: Path = TEMPLATES) -> Environment:
    env = _Environment(
        loader=FileSystemLoader(str(templates)),
        autoescape=select_autoescape(["html", "xml", "atom", "svg"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["urls"] = urls
    env.globals["cable_rows"] = cable_rows
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


def _html(value: Any) -> str:
    """What ``{{ value }}`` writes (autoescaped): markupsafe's escape of a str,
    without a Markup object per value."""
    return cabletext.escape_text(value) if type(value) is str else str(escape(value))


@pass_context
def cable_rows(context: Context, rows: Iterable[dict]) -> Markup:
    """The ``<tr>`` rows of ``_macros.html``'s cable table (browse pages, the home
    page): the markup the macro's Jinja loop wrote, character for character (a
    test renders both), in a tenth of the time. ``rows``: ``Site._summary`` dicts;
    a missing key writes what Jinja's undefined does (nothing)."""
    # The mirror's memoized one. Its paths need no escaping: the value is slugged and
    # %-quoted, so they hold no & < > ' " (escape_text would return them unchanged).
    browse_path = context.resolve("urls").browse_path
    out = []
    for row in rows:
        get = row.get
        created, released = get("created"), get("released")
        classification, origin = get("classification"), get("origin")
        out.append(
            f'<tr>\n<td class="refid"><a href="{_html(get("url", ""))}">'
            f'{_html(get("reference_id", ""))}</a></td>\n'
            f'<td class="subject">{_html(get("subject") or "")}</td>\n<td class="date">'
            + (f'<a href="{browse_path("date", created[:7])}">{_html(created[:10])}</a>'
               if created else "")
            + '</td>\n<td class="date">'
            + (f'<a href="{browse_path("reldate", released[:10])}">'
               f"{_html(released[:10])}</a>" if released else "")
            + "</td>\n<td>"
            + (f'<a href="{browse_path("classification", classification)}">'
               f"{_html(classification)}</a>" if classification else "")
            + "</td>\n<td>"
            + (f'<a href="{browse_path("origin", origin)}">{_html(origin)}</a>'
               if origin else "")
            + "</td>\n</tr>\n"
        )
    return Markup("".join(out))  # noqa: S704 - every value escaped by _html


class Site:
    """Pages of the public site over one PublicArchive."""

    def __init__(
        self,
        archive: Any,
        *,
        base_url: str = "",
        static: bool = False,
        counts_ttl: float = 2.0,
        env: Environment | None = None,
    ) -> None:
        self.archive = archive
        self.base_url = base_url.rstrip("/")
        self.static = static  # static mirror: no search box, no sort links
        self.env = env or make_environment()
        self.counts_ttl = counts_ttl
        self._counts: tuple[float, int, int] | None = None
        self._slugs: dict[str, tuple[float, urls.SlugMap]] = {}
        self._lock = threading.RLock()
        self._memo_seq: int | None = None  # change-log head the memos were computed at

    # -- shared context

    def counts(self) -> tuple[int, int]:
        """(released, total) for the counter, re-read at most every ``counts_ttl`` s."""
        now = time.monotonic()
        cached = self._counts
        if cached is None or now - cached[0] > self.counts_ttl:
            cached = (now, self.archive.released_count(), self.archive.total_count())
            self._counts = cached
        return cached[1], cached[2]

    def slug_map(self, kind: str) -> urls.SlugMap:
        return self.memo(("slugs", kind), lambda: urls.SlugMap(v for v, _ in self.facets(kind)))

    def facets(self, kind: str) -> list[tuple[str, int]]:
        """``archive.facet_counts(kind)``, computed once per ``counts_ttl`` per process
        (the tag counts take a while on a big archive; concurrent requests share one)."""
        return self.memo(("facets", kind), lambda: self.archive.facet_counts(kind))

    def memo(self, key: Any, compute: Callable[[], Any], ttl: float = 10.0) -> Any:
        """``compute()``, kept until the change log moves (an un-release, a redaction:
        at once) or ``ttl`` seconds pass (releases by time are not logged)."""
        self._forget_if_changed()
        now = time.monotonic()
        cached = self._slugs.get(key)
        if cached is None or now - cached[0] > ttl:
            with self._lock:  # one computation; the others wait for it
                cached = self._slugs.get(key)
                if cached is None or time.monotonic() - cached[0] > ttl:
                    cached = (time.monotonic(), compute())
                    self._slugs[key] = cached
        return cached[1]

    def _forget_if_changed(self) -> None:
        changes_since = getattr(self.archive, "changes_since", None)
        if changes_since is None:
            self._slugs.clear()
            return
        head, changed = changes_since(self._memo_seq)
        if changed is None or changed:
            with self._lock:
                self._slugs.clear()
        self._memo_seq = head

    def absolute(self, path: str) -> str:
        return self.base_url + path

    def render(self, template: str, **context: Any) -> str:
        released, total = self.counts()
        context.setdefault("static", self.static)
        context.setdefault("base_url", self.base_url)
        return self.env.get_template(template).render(
            released_count=released, total_count=total, **context
        )

    # -- the cable page

    def cable_page(self, refid: str) -> Page:
        read_view = getattr(self.archive, "cable_view", None)  # a PublicArchive; stubs may lack it
        if read_view is None:
            record = self.archive.get_cable(refid)
            if record is None:
                raise NotFound(refid)
            return self._cable_page(record)
        # One connection, one query per table for the record, its revisions and discussion.
        view = read_view(refid)
        if view is None:
            raise NotFound(refid)
        return self.cable_page_from_view(view)

    def cable_page_from_view(self, view: dict) -> Page:
        """The page of one ``PublicArchive.cable_views`` entry (the static mirror
        reads many cables at once, then renders each as ``cable_page`` would)."""
        return self._cable_page(view["record"], view["revisions"], view["discussion"])

    def _cable_page(
        self, record: dict, revision_records: dict[int, dict] | None = None,
        discussion: dict | None = None,
    ) -> Page:
        refid = record["reference_id"]
        cites = {c["reference_id"]: c for c in record.get("cites") or []}
        path = urls.cable_path(refid, record.get("created"))
        json_path = urls.cable_path(refid, record.get("created"), "json")

        def ref_link(target: str) -> tuple[str, str]:
            cite = cites.get(target)
            if cite and cite.get("in_archive") and cite.get("url_date"):
                year, month = cite["url_date"]
                return f"/cable/{year}/{month}/{target}.html", target
            return "", f"{target}: not in the archive"

        header_html = cabletext.render_header(record.get("header"))
        body_html = cabletext.render_body(record.get("body"), record, self.tag_link, ref_link)
        revisions = self._revision_diffs(record, revision_records)
        context = {
            "record": record,
            "refid": refid,
            "path": path,
            "json_path": json_path,
            "header_html": header_html,
            "body_html": body_html,
            "header_facts": self._header_facts(record),
            "reasons": [
                (r, ids.reason_category(r), urls.reasons_path(r))
                for r in record.get("classification_reasons") or []
            ],
            "tags": [(t, *self.tag_link(t)) for t in record.get("tags") or []],
            "cites": [self._cite(c) for c in record.get("cites") or []],
            "cited_by": [
                {**c, "href": urls.cable_path(c["reference_id"], c.get("created"))}
                for c in record.get("cited_by") or []
            ],
            "revisions": revisions,
            "wikileaks_url": urls.wikileaks_cable_url(refid, record.get("created")),
            "plusd_url": urls.plusd_url(refid),
            "share": self._share(refid, record, path),
            "is_demo": DEMO_NOTICE
            in (record.get("subject") or "") + (record.get("body") or "")[:2000],
        }
        depends = set(cites) | {c["reference_id"] for c in record.get("cited_by") or []}
        data = {
            **{k: v for k, v in record.items()},
            "links": {
                "html": path,
                "json": json_path,
                "wikileaks": context["wikileaks_url"],
                "plusd": context["plusd_url"],
            },
        }
        # Issue 5: approved comments and trackbacks, comment form (web/discuss.py).
        extra, data["discussion"] = cable_discussion(
            self.archive, record, path, self.base_url, self.static, found=discussion
        )
        context.update(extra)
        html = self.render("cable.html", **context)
        return Page(path, html, data, json_path=json_path, depends=depends)

    @staticmethod
    def tag_link(tag: str) -> tuple[str, str | None]:
        """(browse page, meaning for the hover title) of a tag."""
        return _tag_link(tag)

    @staticmethod
    def _cite(cite: dict) -> dict:
        href = None
        if cite.get("in_archive") and cite.get("url_date"):
            year, month = cite["url_date"]
            href = f"/cable/{year}/{month}/{cite['reference_id']}.html"
        return {**cite, "href": href}

    @staticmethod
    def _header_facts(record: dict) -> list[tuple[str, str, str | None]]:
        """(label, value, title) lines decoding the header for readers."""
        facts: list[tuple[str, str, str | None]] = []
        if record.get("precedence"):
            facts.append(("Precedence", record["precedence"], None))
        when = cabletext.dtg_datetime(record.get("dtg"))
        if when:
            facts.append(("Sent", f"{when:%Y-%m-%d %H:%M} UTC", record.get("dtg")))
        if record.get("origin"):
            facts.append(("From", record["origin"], None))
        for label, key in (("To", "recipients"), ("Info", "info_recipients")):
            names = [cabletext.decode_addressee(a) for a in record.get(key) or []]
            if names:
                facts.append((label, "; ".join(dict.fromkeys(n.name for n in names)), None))
        if record.get("caveats"):
            facts.append(("Caveats", ", ".join(record["caveats"]), None))
        return facts

    def _revision_diffs(
        self, record: dict, revision_records: dict[int, dict] | None = None
    ) -> list[dict]:
        from ..diffing import cable_text

        revisions = list(record.get("revisions") or [])
        texts: dict[int, str | None] = {}

        def text(number: int) -> str | None:
            if number not in texts:  # each public revision read once, through the gate
                if revision_records is not None:
                    rev = revision_records.get(number)
                else:
                    rev = self.archive.get_revision(record["reference_id"], number)
                texts[number] = None if rev is None else cable_text(rev)
            return texts[number]

        out = []
        for prev, cur in zip(revisions, revisions[1:], strict=False):
            a, b = text(prev["revision"]), text(cur["revision"])
            # The line-then-word diff here is ~1000x faster than archive.diff on long cables.
            pieces = None if a is None or b is None else cabletext.word_diff(a, b)
            changed = pieces is not None and any(op != "equal" for op, _ in pieces)
            out.append(
                {
                    **cur,
                    "previous": prev["revision"],
                    "diff_html": cabletext.render_diff(pieces) if changed else None,
                }
            )
        return [{**revisions[0], "previous": None, "diff_html": None}, *out] if revisions else []

    def _share(self, refid: str, record: dict, path: str) -> dict[str, str]:
        url = self.absolute(path)
        subject = (record.get("subject") or "").strip()
        text = f"{refid}: {subject[:120]} {url} #cablegate #{refid}".replace("  ", " ")
        quoted = quote_all(text)  # once for the three links that carry it
        return {
            "text": text,
            "twitter": "https://twitter.com/intent/tweet?text=" + quoted,
            "mastodon": "https://mastodonshare.com/?text=" + quoted,
            "reddit": "https://www.reddit.com/submit?url="
            + quote_all(url)
            + "&title="
            + quote_all(f"{refid}: {subject[:200]}"),
            "email": "mailto:?subject=" + quote_all(f"Cable {refid}") + "&body=" + quoted,
        }

    # -- browse pages

    def browse_value(self, kind: str, slug: str) -> str:
        """The value a browse slug names; NotFound when there is none."""
        if kind not in urls.BROWSE_KINDS:
            raise NotFound(kind)
        if kind in ("reldate", "date"):
            fmt = "%Y-%m-%d" if kind == "reldate" else "%Y-%m"
            try:
                datetime.strptime(slug, fmt)
            except ValueError:
                raise NotFound(slug) from None
            return slug
        value = self.slug_map(kind).value(slug)
        if value is None:
            raise NotFound(slug)
        return value

    def _browse_candidates(self, kind: str, slug: str) -> list[str]:
        """Values a slug most likely names, tried before the (costly) full value list:
        the slug itself (tags, dates), with spaces (origins), with // (classifications)."""
        if kind in ("reldate", "date"):
            return [self.browse_value(kind, slug)]
        guesses = [slug, slug.replace("_", " "), slug.replace("_", "//")]
        return [g for g in dict.fromkeys(guesses) if urls.slugify(g) == slug]

    def browse_page(self, kind: str, slug: str, page: int = 0, sort: str | None = None) -> Page:
        if kind not in urls.BROWSE_KINDS:
            raise NotFound(kind)
        sort = sort or DEFAULT_SORT[kind]
        if sort not in BROWSE_SORTS:
            raise BadRequest(f"unknown sort {sort!r}; use one of {', '.join(BROWSE_SORTS)}")
        if page < 0 or page > 10_000_000:
            raise NotFound(str(page))
        total, rows, value = 0, [], slug
        for value in self._browse_candidates(kind, slug):
            total, rows = self.archive.browse(
                kind, value, sort=sort, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            )
            if total:
                break
        if not total and kind not in ("reldate", "date"):
            value = self.browse_value(kind, slug)  # an odd value: look it up in the list
            total, rows = self.archive.browse(
                kind, value, sort=sort, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            )
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if total == 0 or page >= pages:
            raise NotFound(f"{kind}/{slug}_{page}")
        return self._browse_page(kind, value, page, sort, total, rows)

    def browse_pages(
        self, kind: str, value: str, first: int = 0, count: int | None = None
    ) -> Iterator[Page]:
        """Pages ``first`` to ``first + count - 1`` (default: every page) of one value,
        default sort, from one read (for the static mirror, which splits big values)."""
        sort = DEFAULT_SORT[kind]
        limit = 10_000_000 if count is None else count * PAGE_SIZE
        total, rows = self.archive.browse(
            kind, value, sort=sort, offset=first * PAGE_SIZE, limit=limit
        )
        for page in range(first, math.ceil(total / PAGE_SIZE)):
            chunk = rows[(page - first) * PAGE_SIZE:(page - first + 1) * PAGE_SIZE]
            if not chunk:
                break
            yield self._browse_page(kind, value, page, sort, total, chunk)

    def _browse_page(
        self, kind: str, value: str, page: int, sort: str, total: int, rows: list[dict]
    ) -> Page:
        pages = max(1, math.ceil(total / PAGE_SIZE))
        path = urls.browse_path(kind, value, page)
        query = "" if sort == DEFAULT_SORT[kind] else f"?sort={sort}"
        results = [self._summary(r) for r in rows]
        pager = self._pager(page, pages, lambda p: urls.browse_path(kind, value, p) + query)
        title = f"Cables by {urls.BROWSE_TITLES[kind]}: {value}"
        context = {
            "title": title,
            "kind": kind,
            "value": value,
            "total": total,
            "page": page,
            "pages": pages,
            "sort": sort,
            "sorts": [
                (
                    key,
                    label,
                    urls.browse_path(kind, value, 0)
                    + ("" if key == DEFAULT_SORT[kind] else f"?sort={key}"),
                )
                for key, label in BROWSE_SORTS.items()
            ],
            "results": results,
            "pager": pager,
            "path": path,
            "json_path": urls.browse_path(kind, value, page, "json") + query,
            "feed": urls.feed_path(kind, value) if kind in urls.FEED_KINDS else None,
            "value_title": self._value_title(kind, value),
        }
        data = {
            "kind": kind,
            "value": value,
            "page": page,
            "pages": pages,
            "total": total,
            "sort": sort,
            "results": results,
            "next": pager["next"],
            "previous": pager["previous"],
        }
        return Page(
            path, self.render("browse.html", **context), data, json_path=context["json_path"]
        )

    def _value_title(self, kind: str, value: str) -> str | None:
        if kind == "tag":
            return self.tag_link(value)[1]
        if kind == "classification":
            return ids.reference_data().get("classification_values", {}).get(value)
        return None

    @staticmethod
    def _summary(row: dict) -> dict:
        return {**row, "url": urls.cable_path(row["reference_id"], row.get("created"))}

    @staticmethod
    def _pager(page: int, pages: int, link: Callable[[int], str]) -> dict[str, Any]:
        window = sorted({0, pages - 1, *range(max(0, page - 3), min(pages, page + 4))})
        items, last = [], -1
        for p in window:
            if p - last > 1:
                items.append(None)  # a gap
            items.append((p, link(p)))
            last = p
        return {
            "items": items,
            "previous": link(page - 1) if page > 0 else None,
            "next": link(page + 1) if page + 1 < pages else None,
            "page": page,
        }

    # -- value lists (index pages)

    def index_page(self, kind: str) -> Page:
        if kind not in urls.BROWSE_KINDS:
            raise NotFound(kind)
        values = [
            {
                "value": v,
                "count": n,
                "url": urls.browse_path(kind, v),
                "title": self._value_title(kind, v),
            }
            for v, n in self.facets(kind)
        ]
        groups = self._group_values(kind, values)
        path = urls.index_path(kind)
        context = {
            "title": f"Browse by {urls.BROWSE_TITLES[kind]}",
            "kind": kind,
            "groups": groups,
            "values": values,
            "path": path,
            "json_path": urls.index_path(kind, "json"),
        }
        data = {"kind": kind, "values": values}
        return Page(
            path, self.render("values.html", **context), data, json_path=context["json_path"]
        )

    @staticmethod
    def _group_values(kind: str, values: list[dict]) -> list[tuple[str, list[dict]]]:
        """Dates by year (release dates by month), names by first letter."""
        groups: dict[str, list[dict]] = {}
        for item in values:
            value = item["value"]
            if kind == "date":
                key = value[:4]
            elif kind == "reldate":
                key = value[:7]
            elif kind == "classification":
                key = ""
            elif kind == "origin":
                key = _origin_sort_key(value)[:1].upper() or "?"
            else:
                key = value[:1].upper()
            groups.setdefault(key, []).append(item)
        order = sorted(groups, reverse=kind == "reldate")
        for key in order:
            if kind == "origin":
                groups[key].sort(key=lambda i: _origin_sort_key(i["value"]))
            elif kind == "tag":
                groups[key].sort(key=lambda i: i["value"])
        return [(key, groups[key]) for key in order]

    # -- home, reasons, search, errors

    def home_page(self, latest: int = 30) -> Page:
        rows = [self._summary(r) for r in self.archive.latest(latest)]
        reldates = self.facets("reldate")[-14:][::-1]
        classes = self.facets("classification")
        origins = self.facets("origin")[:20]
        tags = self.facets("tag")[:30]
        released, total = self.counts()
        context = {
            "title": "Cable Viewer",
            "show_counter": True,
            "latest": rows,
            "reldates": [(v, n, urls.browse_path("reldate", v)) for v, n in reldates],
            "classifications": [(v, n, urls.browse_path("classification", v)) for v, n in classes],
            "origins": [(v, n, urls.browse_path("origin", v)) for v, n in origins],
            "tags": [(v, n, urls.browse_path("tag", v), self.tag_link(v)[1]) for v, n in tags],
            "path": "/",
            "json_path": urls.home_path("json"),
            "feed": urls.feed_path(),
        }
        data = {"released": released, "total": total, "latest": rows}
        return Page("/", self.render("home.html", **context), data, json_path=context["json_path"])

    def reasons_page(self) -> Page:
        ref = ids.reference_data()
        regimes = []
        anchored: set[str] = set()  # a code's anchor goes to its first (most cited) regime
        for key, title in REGIMES.items():
            cat = (ref.get("reason_categories") or {}).get(key)
            if not cat:
                continue
            section = key.rsplit("sec", 1)[-1]
            items = sorted(cat["items"].items(), key=lambda kv: (len(kv[0]), kv[0]))
            regimes.append(
                {
                    "key": key,
                    "title": title,
                    "items": [
                        {
                            "code": f"{section}({k})" if section != "1.3a" else f"1.3(a)({k})",
                            "anchor": _first_anchor(anchored, f"{section}({k})"),
                            "text": text,
                        }
                        for k, text in items
                    ],
                    "wording_status": cat.get("wording_status"),
                }
            )
        crosswalk = list((ref.get("reason_crosswalk") or {}).values())
        data = {"regimes": regimes, "crosswalk": crosswalk}
        html = self.render(
            "reasons.html",
            title="Classification reasons",
            regimes=regimes,
            crosswalk=crosswalk,
            path="/reasons.html",
            json_path="/reasons.json",
        )
        return Page("/reasons.html", html, data, json_path="/reasons.json")

    def about_page(self) -> Page:
        html = self.render(
            "about.html", title="About this archive", path="/about.html", json_path=None
        )
        return Page("/about.html", html, {})

    def search_page(self, query: str, page: int = 0, sort: str = "relevance") -> Page:
        from ..query import QuerySyntaxError

        if sort not in SEARCH_SORTS:
            raise BadRequest(f"unknown sort {sort!r}; use one of {', '.join(SEARCH_SORTS)}")
        if page < 0:
            raise BadRequest("page must be 0 or more")
        query = query.strip()
        context: dict[str, Any] = {
            "title": f"Search: {query}" if query else "Search",
            "query": query,
            "sort": sort,
            "sorts": [
                (k, label, urls.search_path(query, sort=None if k == "relevance" else k))
                for k, label in SEARCH_SORTS.items()
            ],
            "path": urls.search_path(
                query, sort=None if sort == "relevance" else sort, page=page or None
            ),
            "json_path": urls.search_path(
                query, "json", sort=None if sort == "relevance" else sort, page=page or None
            ),
            "error": None,
            "result": None,
            "search_page": True,
        }
        data: dict[str, Any] = {"query": query, "sort": sort, "page": page}
        if not query:
            return Page(
                context["path"],
                self.render("search.html", **context),
                data,
                json_path=context["json_path"],
            )
        try:
            result = self.archive.search(
                query, limit=SEARCH_PAGE_SIZE, offset=page * SEARCH_PAGE_SIZE, sort=sort
            )
        except QuerySyntaxError as err:
            position = getattr(err, "position", None)
            context["error"] = {"message": str(err), "position": position}
            data["error"] = {"message": str(err), "position": position}
            html = self.render("search.html", **context)
            return Page(context["path"], html, data, status=400, json_path=context["json_path"])
        total = int(result.total)
        pages = max(1, math.ceil(total / SEARCH_PAGE_SIZE))
        sort_param = None if sort == "relevance" else sort
        results = [self._search_row(r) for r in result.results]
        facets = self._facet_links(query, result.facets, sort_param)
        histogram = dict(sorted((result.histogram or {}).items()))
        context.update(
            {
                "result": result,
                "total": total,
                "results": results,
                "facets": facets,
                "page": page,
                "pages": pages,
                "pager": self._pager(
                    page, pages, lambda p: urls.search_path(query, sort=sort_param, page=p or None)
                ),
                "histogram_svg": Markup(histogram_svg(histogram, query)) if histogram else None,
            }
        )
        data.update(
            {
                "total": total,
                "pages": pages,
                "results": [{k: v for k, v in r.items() if k != "snippet_html"} for r in results],
                "facets": {kind: dict(items_) for kind, items_ in (result.facets or {}).items()},
                "histogram": histogram,
            }
        )
        return Page(
            context["path"],
            self.render("search.html", **context),
            data,
            json_path=context["json_path"],
        )

    @staticmethod
    def _search_row(row: Any) -> dict:
        item = dict(row) if isinstance(row, dict) else dict(vars(row))
        snippet = item.get("snippet") or ""
        # The search index builds snippets from escaped text plus <b> marks only.
        item["snippet_html"] = Markup(snippet)
        item["url"] = urls.cable_path(item["reference_id"], item.get("created"))
        return item

    @staticmethod
    def _facet_links(query: str, facets: dict | None, sort: str | None) -> list[dict]:
        out = []
        names = {
            "origin": "Origin",
            "classification": "Classification",
            "tag": "Tag",
            "year": "Year",
        }
        for kind, label in names.items():
            counts = (facets or {}).get(kind) or {}
            items = counts.items() if isinstance(counts, dict) else counts
            entries = []
            for value, count in sorted(items, key=lambda kv: (-kv[1], str(kv[0])))[:25]:
                term = _facet_term(kind, str(value))
                refined = f"{query} {term}"
                entries.append(
                    {
                        "value": value,
                        "count": count,
                        "active": term in query,
                        "url": urls.search_path(refined, sort=sort),
                    }
                )
            if entries:
                out.append({"kind": kind, "label": label, "entries": entries})
        return out

    def not_found_page(self, what: str = "") -> Page:
        html = self.render("404.html", title="Not found", what=what, path=None, json_path=None)
        return Page("", html, {"error": "not found"}, status=404)


# A pure function of the tag and the shipped reference data, asked ~20 times per
# cable page for the same few thousand tags (bounded: tags come from the cables).
@lru_cache(maxsize=100_000)
def _tag_link(tag: str) -> tuple[str, str | None]:
    info = ids.tag_info(tag)
    meaning = None
    if info and info.get("meaning"):
        meaning = info["meaning"]
        if info.get("category") and info["kind"] == "subject":
            meaning = f"{info['category']}: {meaning}"
    return urls.browse_path("tag", tag), meaning


# Each byte's form in ``quote_all``: unreserved characters as they are, others %XX.
_QUOTED_BYTES = tuple(
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-~") else f"%{b:02X}"
    for b in range(256)
)


def quote_all(text: str) -> str:
    """``urllib.parse.quote(text, safe="")``, the same string: urllib calls a Python
    function per byte of anything that needs quoting (the share links of every
    cable page: ~1,000 bytes, a twentieth of a page's render)."""
    return "".join(map(_QUOTED_BYTES.__getitem__, text.encode()))


def _first_anchor(seen: set[str], code: str) -> str | None:
    """The id of a reason code's entry, for its first entry only (ids are unique)."""
    anchor = urls.reason_anchor(code)
    if anchor in seen:
        return None
    seen.add(anchor)
    return anchor


_POST_PREFIXES = (
    "Embassy ",
    "Consulate ",
    "US Mission ",
    "Mission ",
    "US Interests Section ",
    "American Institute Taiwan, ",
    "US Office ",
    "REO ",
    "RPO ",
    "APP ",
)


def _origin_sort_key(name: str) -> str:
    """'Embassy Tel Aviv' -> 'Tel Aviv': origins are listed by the post's city."""
    for prefix in _POST_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _facet_term(kind: str, value: str) -> str:
    """A query-language filter for one facet value (quoted when it has spaces)."""
    if kind == "year":
        return f"from:{value}-01-01 to:{value}-12-31"
    if any(c in value for c in ' ":()'):
        return f'{kind}:"{value}"'
    return f"{kind}:{value}"


def iter_browse_values(archive: Any, kinds: Iterable[str] = urls.BROWSE_KINDS):
    """(kind, value, count) of every browse page's value (for the static mirror)."""
    for kind in kinds:
        for value, count in archive.facet_counts(kind):
            yield kind, value, count
