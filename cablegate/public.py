"""THE GATE: the only view of the archive that public surfaces may read.

``PublicArchive`` applies release times (a cable whose release time is still in
the future does not exist: no page, no count, no "cited by" entry, a reference
to it is "not in the archive") and redactions (every active redaction's span is
replaced by ``XXXXXXXXXXXX`` in every text field of every revision), and it is
what the search index is fed from, so the index only ever holds public text.
Routes, feeds, exports and the static site read nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select

from . import jsoncodec, store
from .db import utcnow
from .diffing import cable_text, word_diff
from .record import FIELDS, Record
from .schema import cable_tags, cables, comments, links, redactions, revisions, trackbacks

REDACTED = "XXXXXXXXXXXX"
BROWSE_KINDS = ("reldate", "date", "origin", "tag", "classification")
FACET_KINDS = BROWSE_KINDS + ("year",)
# Fields that are never cable text and stay as they are.
_NOT_TEXT = {"reference_id", "created", "released", "partial", "source"}

Clock = datetime | Callable[[], datetime] | None


# --------------------------------------------------------------------------- redaction


def redaction_pattern(spans: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching every span: case-insensitive, any whitespace run in a
    span matching any whitespace run in the text (a name broken over two lines,
    or re-flowed in a paragraph, is still found). Longest spans first."""
    parts = []
    for span in sorted({s for s in spans if s and s.strip()}, key=len, reverse=True):
        parts.append(r"\s+".join(re.escape(word) for word in span.split()))
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def redact_text(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every match replaced by XXXXXXXXXXXX, line breaks kept (same layout)."""
    if not text or pattern is None:
        return text

    def replace(match: re.Match[str]) -> str:
        return "\n".join(REDACTED for _ in match.group(0).split("\n"))

    return pattern.sub(replace, text)


def _redact_value(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, pattern)
    if isinstance(value, list):
        return [_redact_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, pattern) for k, v in value.items()}
    return value


def public_record(record: Record, release_at: datetime | None, spans: Sequence[str]) -> Record:
    """The public form of an original record: redactions applied everywhere,
    ``released`` = the release time, ``source`` reduced to its format."""
    pattern = redaction_pattern(spans)
    out: Record = {}
    for name in FIELDS:
        value = record.get(name)
        if pattern is not None and name not in _NOT_TEXT:
            value = _redact_value(value, pattern)
        out[name] = value
    if release_at is not None:
        out["released"] = format_time(release_at)
    out["source"] = {"format": (record.get("source") or {}).get("format")}
    return out


def format_time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def url_date(created: str | None) -> tuple[str, str] | None:
    """(YYYY, MM) of a cable's page URL /cable/YYYY/MM/<ID>.html."""
    if created and len(created) >= 7 and created[:4].isdigit() and created[5:7].isdigit():
        return created[:4], created[5:7]
    return None


def lifted_after(conn: Connection, refid: str, revision: int) -> list[str]:
    """Spans of redactions lifted after ``revision`` was stored (issue 5).

    That revision was published with them redacted and stays so: an
    unredaction publishes the original as a new revision (publishing.py), so
    the revision list and its diff show the change.
    """
    stored = (
        select(revisions.c.ingested_at)
        .where(revisions.c.reference_id == refid, revisions.c.revision == revision)
        .scalar_subquery()
    )
    return list(conn.execute(
        select(redactions.c.span_text).where(
            redactions.c.reference_id == refid, redactions.c.lifted_at > stored
        )
    ).scalars())


# --------------------------------------------------------------------------- the gate

# Built once: ``cable_views`` runs them for every cable page render, and building
# a statement costs more CPU than SQLite takes to answer it.
_IN_REFIDS = bindparam("refids", expanding=True)
_REDACTIONS = (
    select(redactions.c.reference_id, redactions.c.span_text, redactions.c.lifted_at)
    .where(redactions.c.reference_id.in_(_IN_REFIDS))
    .order_by(redactions.c.id)
)
_PUBLIC_CABLES = select(cables).where(
    cables.c.reference_id.in_(_IN_REFIDS), cables.c.release_at <= bindparam("now")
)
_REVISION_ROWS_OF = (
    select(revisions.c.reference_id, revisions.c.revision, revisions.c.ingested_at,
           revisions.c.released, revisions.c.source_format, revisions.c.record,
           revisions.c.header, revisions.c.body)
    .where(revisions.c.reference_id.in_(_IN_REFIDS))
    .order_by(revisions.c.reference_id, revisions.c.revision)
)
_CITES_OF = (  # store.cites for many cables
    select(links.c.source_id, links.c.target_id, cables)
    .select_from(links.outerjoin(cables, cables.c.reference_id == links.c.target_id))
    .where(links.c.source_id.in_(_IN_REFIDS))
    .order_by(links.c.source_id, links.c.position)
)
_CITED_BY_OF = (  # store.cited_by for many cables
    select(links.c.target_id.label("cited_id"), cables)
    .select_from(cables.join(links, links.c.source_id == cables.c.reference_id))
    .where(links.c.target_id.in_(_IN_REFIDS))
    .order_by(links.c.target_id, cables.c.created, cables.c.reference_id)
)
_APPROVED_COMMENTS_OF = (  # discussion.approved_discussion for many cables
    select(comments.c.reference_id, comments.c.id, comments.c.author_name,
           comments.c.author_url, comments.c.body, comments.c.created_at)
    .where(comments.c.reference_id.in_(_IN_REFIDS), comments.c.status == "approved")
    .order_by(comments.c.reference_id, comments.c.created_at, comments.c.id)
)
_APPROVED_TRACKBACKS_OF = (
    select(trackbacks.c.reference_id, trackbacks.c.id, trackbacks.c.url, trackbacks.c.title,
           trackbacks.c.excerpt, trackbacks.c.blog_name, trackbacks.c.created_at)
    .where(trackbacks.c.reference_id.in_(_IN_REFIDS), trackbacks.c.status == "approved")
    .order_by(trackbacks.c.reference_id, trackbacks.c.created_at, trackbacks.c.id)
)


class PublicArchive:
    """The public view of the archive (see docs/architecture.md for the API)."""

    def __init__(self, engine: Engine, index: Any = None, now: Clock = None) -> None:
        self.engine = engine
        self.index = index
        self._clock = now

    # -- time and visibility

    def now(self) -> datetime:
        if self._clock is None:
            return utcnow()
        if isinstance(self._clock, datetime):
            return self._clock
        return self._clock()

    def _released(self, now: datetime | None = None):
        return cables.c.release_at <= (now or self.now())

    def _public_row(self, conn: Connection, refid: str) -> Any:
        return conn.execute(
            select(cables).where(cables.c.reference_id == refid, self._released())
        ).first()

    # -- one cable

    def get_cable(self, refid: str) -> Record | None:
        """The current public record plus revisions, cites, cited_by, unresolved_references."""
        view = self.cable_view(refid, with_revisions=False, with_discussion=False)
        return None if view is None else view["record"]

    def cable_view(
        self, refid: str, *, with_revisions: bool = True, with_discussion: bool = True
    ) -> dict | None:
        """Everything a cable page shows (``cable_views`` of this one cable: one
        query per table, no per-revision or per-link queries):

        ``{"record": get_cable(refid), "revisions": {n: get_revision(refid, n)}
        for every revision, "discussion": discussion(refid)}``, or None when the
        cable is not public. Same gate as those three methods: one release-time
        check, the cable's active redactions in every revision plus, in older
        revisions, the ones lifted after they were stored (``lifted_after``).
        """
        return self.cable_views([refid], with_revisions=with_revisions,
                                with_discussion=with_discussion)[refid]

    def cable_views(
        self, refids: Sequence[str], *, with_revisions: bool = True,
        with_discussion: bool = True, chunk: int = 500,
    ) -> dict[str, dict | None]:
        """refid -> ``cable_view(refid)`` for one or many cables (a page; the
        static mirror), read with one query per table per ``chunk`` cables (IN
        lists) on one connection.
        """
        now = self.now()
        found: dict[str, dict | None] = dict.fromkeys(refids)
        with self.engine.connect() as conn:
            for part in store._chunks(list(found), chunk):
                found.update(self._views_of_chunk(conn, part, now, with_revisions,
                                                  with_discussion))
        return found

    def _views_of_chunk(
        self, conn: Connection, refids: list[str], now: datetime, with_revisions: bool,
        with_discussion: bool,
    ) -> dict[str, dict]:
        rows = {r.reference_id: r for r in conn.execute(
            _PUBLIC_CABLES, {"refids": refids, "now": now})}
        if not rows:
            return {}
        ids_ = list(rows)
        rev_rows: dict[str, list[Any]] = {}
        for r in conn.execute(_REVISION_ROWS_OF, {"refids": ids_}):
            rev_rows.setdefault(r.reference_id, []).append(r)
        cite_rows: dict[str, list[tuple[str, Any]]] = {}
        for r in conn.execute(_CITES_OF, {"refids": ids_}):
            cite_rows.setdefault(r.source_id, []).append(
                (r.target_id, r if r.reference_id is not None else None))
        citing: dict[str, list[Any]] = {}
        for r in conn.execute(_CITED_BY_OF, {"refids": ids_}):
            if r.release_at <= now:
                citing.setdefault(r.cited_id, []).append(r)
        others = {c.reference_id for rs in citing.values() for c in rs}
        spans, lifted = self._redaction_spans_of(conn, ids_, others)
        discussion = self._discussions_of(conn, rows, spans) if with_discussion else {}
        views: dict[str, dict] = {}
        for refid, row in rows.items():
            revs = rev_rows.get(refid, [])
            current = next((r for r in revs if r.revision == row.current_revision), None)
            if current is None:  # pragma: no cover - a cable always has a revision
                continue
            own = spans.get(refid, [])
            base = public_record(store.record_from_row(current), row.release_at, own)
            record = {**base, "revision": row.current_revision}
            record["revisions"] = [
                {"revision": r.revision, "ingested_at": format_time(r.ingested_at),
                 "released": r.released, "source_format": r.source_format}
                for r in revs
            ]
            record.update(self._links_from(cite_rows.get(refid, []), citing.get(refid, []),
                                           spans, now))
            views[refid] = {
                "record": record,
                "revisions": self._revision_records(row, revs, base, own, lifted.get(refid, []))
                if with_revisions else {},
                "discussion": discussion.get(refid) if with_discussion else None,
            }
        return views

    @staticmethod
    def _redaction_spans_of(
        conn: Connection, refids: Sequence[str], others: Iterable[str]
    ) -> tuple[dict[str, list[str]], dict[str, list[tuple[datetime, str]]]]:
        """``_redaction_spans`` for many cables: (reference_id -> active spans, of
        ``refids`` and ``others``; reference_id -> (lifted_at, span) of ``refids``'
        lifted redactions), each in redaction id order."""
        own = set(refids)
        active: dict[str, list[str]] = {}
        lifted: dict[str, list[tuple[datetime, str]]] = {}
        every = list(refids) + sorted(set(others) - own)
        for chunk in store._chunks(every, 500):
            for rid, span, lifted_at in conn.execute(_REDACTIONS, {"refids": chunk}):
                if lifted_at is None:
                    active.setdefault(rid, []).append(span)
                elif rid in own:
                    lifted.setdefault(rid, []).append((lifted_at, span))
        return active, lifted

    @staticmethod
    def _discussions_of(
        conn: Connection, rows: dict[str, Any], spans: dict[str, list[str]]
    ) -> dict[str, dict]:
        """``_discussion`` of many public cables: two queries in all."""
        from .discussion import public_comment, public_trackback

        ids_ = list(rows)
        comment_rows: dict[str, list[Any]] = {}
        for r in conn.execute(_APPROVED_COMMENTS_OF, {"refids": ids_}):
            comment_rows.setdefault(r.reference_id, []).append(r)
        trackback_rows: dict[str, list[Any]] = {}
        for r in conn.execute(_APPROVED_TRACKBACKS_OF, {"refids": ids_}):
            trackback_rows.setdefault(r.reference_id, []).append(r)
        out: dict[str, dict] = {}
        for refid, row in rows.items():
            page = _cable_page_path(refid, row.created)
            found_c, found_t = comment_rows.get(refid, []), trackback_rows.get(refid, [])
            if found_c or found_t:
                pattern = redaction_pattern(spans.get(refid, []))

                def redact(t: str, p: re.Pattern[str] | None = pattern) -> str:
                    return redact_text(t, p)

                found = {"comments": [public_comment(r, refid, redact, page) for r in found_c],
                         "trackbacks": [public_trackback(r, redact) for r in found_t]}
            else:
                found = {"comments": [], "trackbacks": []}
            out[refid] = {"path": page, **found}
        return out

    def public_ids(self) -> list[str]:
        """Every public cable's reference ID (what the static mirror renders), by
        creation date, then ID: the order of their page directories (cable/YYYY/MM)."""
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(cables.c.reference_id).where(self._released())
                .order_by(cables.c.created, cables.c.reference_id)
            ).scalars())

    @staticmethod
    def _revision_records(
        row: Any, rev_rows: Sequence[Any], base: Record, spans: list[str],
        lifted: list[tuple[datetime, str]],
    ) -> dict[int, Record]:
        """revision -> what ``get_revision`` returns for it (issue 5: an older
        revision stays redacted with the spans lifted after it was stored)."""
        out: dict[int, Record] = {}
        for rev in rev_rows:
            if rev.revision == row.current_revision:
                out[rev.revision] = {**base, "revision": rev.revision}
                continue
            later = [span for at, span in lifted
                     if rev.ingested_at is not None and at > rev.ingested_at]
            public = public_record(store.record_from_row(rev), row.release_at, spans + later)
            out[rev.revision] = {**public, "revision": rev.revision}
        return out

    def _discussion(self, conn: Connection, row: Any, spans: list[str]) -> dict:
        from .discussion import approved_discussion

        pattern = redaction_pattern(spans)
        page = _cable_page_path(row.reference_id, row.created)
        found = approved_discussion(conn, row.reference_id, lambda t: redact_text(t, pattern),
                                    page)
        return {"path": page, **found}

    def get_revision(self, refid: str, revision: int) -> Record | None:
        with self.engine.connect() as conn:
            row = self._public_row(conn, refid)
            if row is None:
                return None
            record = store.get_record(conn, refid, revision)
            if record is None:
                return None
            spans = store.active_redactions(conn, [refid]).get(refid, [])
            if revision != row.current_revision:  # issue 5: as it was published
                spans = spans + lifted_after(conn, refid, revision)
            out = public_record(record, row.release_at, spans)
            out["revision"] = revision
            return out

    def diff(self, refid: str, rev_a: int, rev_b: int) -> list[tuple[str, str]] | None:
        """Word-level diff of two public revision texts; None if either is not public."""
        a, b = self.get_revision(refid, rev_a), self.get_revision(refid, rev_b)
        if a is None or b is None:
            return None
        return word_diff(cable_text(a), cable_text(b))

    @staticmethod
    def _links_from(
        cite_rows: Sequence[tuple[str, Any]], citing: Sequence[Any],
        spans: dict[str, list[str]], now: datetime,
    ) -> dict[str, list]:
        """cites / cited_by / unresolved_references from rows already read
        (``citing``: the public cables citing this one)."""
        cites, unresolved = [], []
        for target, row in cite_rows:
            public = row is not None and row.release_at <= now
            cites.append({
                "reference_id": target,
                "in_archive": public,
                "url_date": url_date(row.created) if public else None,
            })
            if not public:
                unresolved.append(target)
        cited_by = [
            {
                "reference_id": r.reference_id,
                "subject": redact_text(r.subject, redaction_pattern(spans.get(r.reference_id, []))),
                "created": r.created,
            }
            for r in citing
        ]
        return {"cites": cites, "cited_by": cited_by, "unresolved_references": unresolved}

    # -- lists and counts

    def _summaries(self, conn: Connection, rows: Sequence[Any]) -> list[dict]:
        spans = store.active_redactions(conn, [r.reference_id for r in rows])
        return [self._summary(r, spans.get(r.reference_id, [])) for r in rows]

    @staticmethod
    def _summary(row: Any, spans: Sequence[str]) -> dict:
        return {
            "reference_id": row.reference_id,
            "subject": redact_text(row.subject, redaction_pattern(spans)),
            "created": row.created,
            "released": format_time(row.release_at),
            "origin": row.origin,
            "classification": row.classification,
            "tags": jsoncodec.loads(row.tags),
        }

    def _browse_clause(self, conn: Connection, kind: str, value: str):
        if kind == "reldate":
            day = datetime.strptime(value, "%Y-%m-%d")
            return and_(cables.c.release_at >= day, cables.c.release_at < day + timedelta(days=1))
        if kind == "date":
            start = datetime.strptime(value, "%Y-%m")
            end = (start + timedelta(days=32)).replace(day=1)
            return and_(cables.c.created >= f"{value}", cables.c.created < end.strftime("%Y-%m"))
        if kind == "origin":
            return cables.c.origin == value
        if kind == "classification":
            return cables.c.classification == value
        if kind == "tag":  # on _browse_source's join with cable_tags
            return cable_tags.c.tag == value
        raise ValueError(f"unknown browse kind {kind!r}; expected one of {', '.join(BROWSE_KINDS)}")

    @staticmethod
    def _browse_source(kind: str):
        """What a browse page reads from. A tag page joins cable_tags (one row per
        cable: its key is (reference_id, tag)); on SQLite the join takes half the
        time of ``reference_id IN (subquery)`` for a tag on 17,000 of 25,000 cables."""
        if kind == "tag":
            return cables.join(cable_tags, cable_tags.c.reference_id == cables.c.reference_id)
        return cables

    _SORTS = {
        "created": (cables.c.created, cables.c.reference_id),
        "-created": (cables.c.created.desc(), cables.c.reference_id.desc()),
        "released": (cables.c.release_at, cables.c.reference_id),
        "-released": (cables.c.release_at.desc(), cables.c.reference_id.desc()),
        "reference_id": (cables.c.reference_id,),
    }

    def browse(
        self, kind: str, value: str, *, sort: str = "created", offset: int = 0, limit: int = 50
    ) -> tuple[int, list[dict]]:
        """(total, summaries) of the public cables of one browse index page.

        Raises ValueError for an unknown kind/sort or a malformed date value.
        """
        if sort not in self._SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {', '.join(self._SORTS)}")
        with self.engine.connect() as conn:
            where = and_(self._released(), self._browse_clause(conn, kind, value))
            source = self._browse_source(kind)
            total = conn.execute(select(func.count()).select_from(source).where(where)).scalar_one()
            rows = conn.execute(
                select(cables).select_from(source).where(where).order_by(*self._SORTS[sort])
                .offset(max(offset, 0)).limit(max(limit, 0))
            ).all()
            return total, self._summaries(conn, rows)

    def _facet_column(self, conn: Connection, kind: str):
        if kind == "origin":
            return cables.c.origin
        if kind == "classification":
            return cables.c.classification
        if kind == "year":
            return cables.c.year
        if kind == "date":
            return func.substr(cables.c.created, 1, 7)
        if kind == "reldate":
            if conn.dialect.name == "postgresql":
                return func.to_char(cables.c.release_at, "YYYY-MM-DD")
            return func.substr(cables.c.release_at, 1, 10)
        raise ValueError(f"unknown facet kind {kind!r}; expected one of {', '.join(FACET_KINDS)}")

    def facet_counts(self, kind: str) -> list[tuple[str, int]]:
        """(value, count) over public cables, most frequent first (dates: in date order)."""
        with self.engine.connect() as conn:
            if kind == "tag":
                col = cable_tags.c.tag
                query = (
                    select(col, func.count())
                    .select_from(cable_tags.join(cables))
                    .where(self._released())
                )
            else:
                col = self._facet_column(conn, kind)
                query = select(col, func.count()).where(self._released())
            query = query.where(col.is_not(None)).group_by(col)
            if kind in ("date", "reldate", "year"):
                query = query.order_by(col)
            else:
                query = query.order_by(func.count().desc(), col)
            return [(str(v), int(n)) for v, n in conn.execute(query)]

    def changes_since(self, seq: int | None, limit: int = 1000) -> tuple[int, list[str] | None]:
        """(head seq of the change log, reference IDs changed after ``seq``), for the
        web site's cache of rendered pages (added by the site engineer).

        IDs only, of any cable: the caller re-reads each one through this gate.
        The list is None when ``seq`` is None or more than ``limit`` changed.
        """
        from .schema import changes

        if seq is not None and self.engine.dialect.name == "sqlite":
            # The page cache asks on every request: one bare indexed read on a pooled
            # DBAPI connection (no BEGIN/ROLLBACK round) costs a fraction of the below.
            raw = self.engine.raw_connection()
            try:
                found = raw.cursor().execute(
                    "SELECT seq, reference_id FROM changes WHERE seq > ? ORDER BY seq LIMIT 1",
                    (seq,),
                ).fetchone()
            finally:
                raw.close()
            if found is None:
                return seq, []
        with self.engine.connect() as conn:
            if seq is None:
                return store.head_seq(conn), None
            rows = conn.execute(
                select(changes.c.seq, changes.c.reference_id)
                .where(changes.c.seq > seq).order_by(changes.c.seq).limit(limit + 1)
            ).all()
            if len(rows) > limit:
                return store.head_seq(conn), None
        if not rows:
            return seq, []
        return rows[-1].seq, list(dict.fromkeys(r.reference_id for r in rows))

    def released_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(cables).where(self._released())
            ).scalar_one()

    def total_count(self) -> int:
        """Every cable in the archive, released or not (the "/ TOTAL" of the counter)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(cables)).scalar_one()

    def latest(self, limit: int = 20) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cables).where(self._released())
                .order_by(cables.c.release_at.desc(), cables.c.reference_id.desc())
                .limit(limit)
            ).all()
            return self._summaries(conn, rows)

    # -- discussion (issue 5): approved comments and trackbacks of public cables only

    def is_public(self, refid: str, *, conn: Connection | None = None) -> bool:
        """Whether the cable exists for the public now (what its URL answers)."""
        if conn is None:
            with self.engine.connect() as own:
                return self._public_row(own, refid) is not None
        return self._public_row(conn, refid) is not None

    def discussion(self, refid: str) -> dict | None:
        """{"path", "comments", "trackbacks"} approved for a public cable, the cable's
        redactions applied to them too; None when the cable is not public."""
        with self.engine.connect() as conn:
            row = self._public_row(conn, refid)
            if row is None:
                return None
            spans = store.active_redactions(conn, [refid]).get(refid, [])
            return self._discussion(conn, row, spans)

    def latest_comments(self, limit: int = 50) -> list[dict]:
        """The newest approved comments on public cables (the site-wide comment feed)."""
        from .discussion import latest_approved_comments, public_comment

        with self.engine.connect() as conn:
            rows = latest_approved_comments(conn, self._released(), limit)
            spans = store.active_redactions(conn, sorted({r.reference_id for r in rows}))
        out = []
        for row in rows:
            pattern = redaction_pattern(spans.get(row.reference_id, []))
            page = _cable_page_path(row.reference_id, row.cable_created)
            out.append(public_comment(row, row.reference_id,
                                      lambda t, p=pattern: redact_text(t, p), page))
        return out

    # -- search and export

    def search(self, query: str, *, limit: int = 20, offset: int = 0, sort: str = "relevance"):
        """Full-text search over the public index: ``search.SearchResult``.

        The index holds only public documents; it is first brought up to date
        when the change log is ahead of it or a scheduled release came due.
        """
        from .indexer import sync_if_due

        if self.index is None:
            raise RuntimeError("this PublicArchive has no search index")
        sync_if_due(self.engine, self.index, now=self._clock)
        return self.index.search(query, limit=limit, offset=offset, sort=sort, now=self.now())

    def iter_records(self, batch: int = 500) -> Iterator[Record]:
        """Every public cable's current public record, in reference ID order."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                refids = list(
                    conn.execute(
                        select(cables.c.reference_id)
                        .where(self._released(), cables.c.reference_id > after)
                        .order_by(cables.c.reference_id)
                        .limit(batch)
                    ).scalars()
                )
                if not refids:
                    return
                docs = self.public_documents(refids, conn=conn)
            for refid in refids:
                if docs.get(refid) is not None:
                    yield docs[refid]
            after = refids[-1]

    def public_documents(
        self, refids: Sequence[str], *, conn: Connection | None = None
    ) -> dict[str, Record | None]:
        """refid -> current public record, or None where the cable is not public.

        What the search index is fed with (indexer.py), in batches.
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.public_documents(refids, conn=own)
        now = self.now()
        found: dict[str, Record | None] = dict.fromkeys(refids)
        spans = store.active_redactions(conn, refids)
        for chunk in store._chunks(list(refids), 500):
            rows = conn.execute(
                select(cables.c.reference_id, cables.c.release_at,
                       revisions.c.record, revisions.c.header, revisions.c.body)
                .join(revisions, and_(revisions.c.reference_id == cables.c.reference_id,
                                      revisions.c.revision == cables.c.current_revision))
                .where(cables.c.reference_id.in_(chunk), cables.c.release_at <= now)
            )
            for row in rows:
                found[row.reference_id] = public_record(
                    store.record_from_row(row), row.release_at, spans.get(row.reference_id, [])
                )
        return found

    def document_from_prepared(
        self, item: store.Prepared, release_at: datetime, spans: Sequence[str]
    ) -> Record:
        """The search-index document of a text just written by ingest, without
        reading it back: the public record's fields the index reads (search.py),
        redactions applied; the other fields are left empty."""
        record: Record = dict.fromkeys(FIELDS)
        record.update(
            reference_id=item.reference_id, created=item.created, released=item.released,
            classification=item.classification, origin=item.origin,
            origin_code=item.origin_code, subject=item.subject, tags=item.tags,
            references=item.references, header=item.header, body=item.body,
            source={"format": item.source_format},
        )
        return public_record(record, release_at, spans)


def _cable_page_path(refid: str, created: str | None) -> str:
    from .web.url_builder import cable_path

    return cable_path(refid, created)
