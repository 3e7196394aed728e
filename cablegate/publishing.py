"""Editors' work on the archive: staged releases and redactions.

Everything here is the *editors'* side: it reads the originals (``store``) and
writes through ``store`` so that every change appends to the ``changes`` log in
the same transaction; the public side (``PublicArchive``, the search index, the
page cache) follows that log. Nothing here is ever shown to the public
directly.

Staged release
    ``plan_release`` picks a batch (reference IDs, or every cable matching a
    query of the search language, evaluated over the *original* texts of all
    cables, released or not) and shows what would change; ``apply_release``
    sets the batch's release time (``cables.release_at``, kept by later
    ingests). Before that time a cable does not exist publicly.

Redactions
    An editor marks a span of a cable's header or body (by character offsets,
    or by exact text and occurrence) with a reason. The span is widened to
    whole words (a half-redacted name still names someone) and stored as text;
    the gate then replaces **every** occurrence of it, in every text field of
    every revision, by ``XXXXXXXXXXXX`` — one fixed-width run per line the
    span covers, so the cable keeps its line structure (the monospace layout)
    and the run's length does not hint at the hidden word's length, as on the
    WikiLeaks site. The original stays in ``revisions`` for editors.

Unredaction
    ``unredact`` lifts redactions and, when the cable is public, publishes the
    original text as a *new revision* (source format ``unredaction``): the
    public revision list then shows that the text changed, and the diff from
    the previous revision shows ``XXXXXXXXXXXX`` turning into the words. Older
    revisions stay as they were published (the gate keeps a lifted redaction
    applied to revisions stored before the lift).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from . import store
from .accounts import audit
from .db import utcnow, writing
from .public import public_record, redaction_pattern
from .schema import cables, redactions, revisions

SPAN_FIELDS = ("header", "body")
UNREDACTION_FORMAT = "unredaction"
MAX_SPAN = 2000  # characters; a redaction is a name or a sentence, not a cable
PREVIEW_LIMIT = 200


class PublishingError(ValueError):
    """An editor's request that cannot be done; the message says why."""


# --------------------------------------------------------------------------- release times


def parse_release_time(text: str) -> datetime:
    """``"YYYY-MM-DD HH:MM"`` (UTC, as the archive keeps every time) or ISO 8601
    with an offset -> naive UTC."""
    value = (text or "").strip()
    if not value:
        raise PublishingError('a release time is needed, as "YYYY-MM-DD HH:MM" (UTC)')
    try:
        parsed = datetime.fromisoformat(value.replace("T", " "))
    except ValueError:
        raise PublishingError(
            f'cannot read the release time {value!r}: use "YYYY-MM-DD HH:MM" (UTC)'
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(second=0, microsecond=0)


@dataclass
class ReleasePlan:
    """A batch about to get the release time ``at``: what changes, for a preview."""

    at: datetime
    cables: list[dict] = field(default_factory=list)  # reference_id, subject, release_at, public
    missing: list[str] = field(default_factory=list)  # asked for, not in the archive
    query: str | None = None

    @property
    def refids(self) -> list[str]:
        return [c["reference_id"] for c in self.cables]

    def counts(self, now: datetime) -> dict[str, int]:
        """How many cables appear, disappear, or stay as they are for the public."""
        out = {"cables": len(self.cables), "become_public": 0, "withdrawn": 0,
               "stay_public": 0, "stay_embargoed": 0}
        public_after = self.at <= now
        for cable in self.cables:
            if cable["public"] and public_after:
                out["stay_public"] += 1
            elif cable["public"]:
                out["withdrawn"] += 1
            elif public_after:
                out["become_public"] += 1
            else:
                out["stay_embargoed"] += 1
        return out


def plan_release(
    engine: Engine,
    at: datetime,
    *,
    refids: Sequence[str] = (),
    query: str | None = None,
    unreleased_only: bool = False,
    now: datetime | None = None,
) -> ReleasePlan:
    """The batch for ``refids`` or ``query`` (one of them), nothing written yet."""
    now = now or utcnow()
    if bool(refids) == bool(query and query.strip()):
        raise PublishingError("give either reference IDs or a query")
    plan = ReleasePlan(at=at, query=query)
    if query:
        wanted = query_refids(engine, query)
    else:
        wanted = list(dict.fromkeys(r.strip() for r in refids if r.strip()))
    found: dict[str, Any] = {}
    with engine.connect() as conn:
        for chunk in store._chunks(wanted, 500):
            rows = conn.execute(
                select(cables.c.reference_id, cables.c.subject, cables.c.created,
                       cables.c.release_at).where(cables.c.reference_id.in_(chunk))
            )
            found.update({r.reference_id: r for r in rows})
    plan.missing = [r for r in wanted if r not in found]
    for refid in wanted:
        row = found.get(refid)
        if row is None or (unreleased_only and row.release_at <= now):
            continue
        plan.cables.append({
            "reference_id": refid,
            "subject": row.subject,
            "created": row.created,
            "release_at": row.release_at,
            "public": row.release_at <= now,
        })
    return plan


def apply_release(
    engine: Engine, plan: ReleasePlan, *, by: str, now: datetime | None = None
) -> int:
    """Set the plan's release time on its cables (one transaction); returns the count."""
    now = now or utcnow()
    if plan.missing:
        raise PublishingError(
            "not in the archive: " + ", ".join(plan.missing[:20])
            + (" ..." if len(plan.missing) > 20 else "")
        )
    refids = plan.refids
    if not refids:
        return 0
    with writing(engine) as conn:
        store.lock_changes(conn)
        done = store.set_release_at(conn, refids, plan.at, by=by, now=now)
        detail: dict[str, Any] = {"at": plan.at.isoformat(" "), "count": done}
        if plan.query:
            detail["query"] = plan.query
        for refid in refids:
            audit(conn, by, "release.schedule", refid, {"at": plan.at.isoformat(" ")}, now)
        audit(conn, by, "release.batch", None, detail, now)
    return done


def query_refids(engine: Engine, query: str, *, limit: int | None = None) -> list[str]:
    """Reference IDs (sorted) of every cable matching ``query`` (the public search
    language), over the original texts of all cables, released or not.

    The public index holds only public text, so it cannot answer this: the
    query runs on a throwaway index of the originals, built in a temporary
    directory and deleted afterwards. Its cost grows with the archive (about
    the public index's build rate; seconds for thousands of cables).
    """
    from .query import parse
    from .search import MAX_LIMIT, SearchIndex, document_from_record

    parse(query)  # a syntax error is reported before any work
    with tempfile.TemporaryDirectory(prefix="cablegate-editors-query-") as tmp:
        index = SearchIndex(tmp, writer_heap=64_000_000)
        try:
            for batch in _original_documents(engine):
                index.upsert(document_from_record(rec, release_at=when) for rec, when in batch)
            index.commit()
            found: list[str] = []
            offset = 0
            while True:
                result = index.search(query, limit=MAX_LIMIT, offset=offset, sort="created",
                                      now=datetime(9000, 1, 1), facets=False)
                found += [hit.reference_id for hit in result.results]
                offset += MAX_LIMIT
                if offset >= result.total or (limit is not None and len(found) >= limit):
                    break
        finally:
            index.close()
    found = sorted(set(found))
    return found[:limit] if limit is not None else found


def _original_documents(engine: Engine, batch: int = 500):
    """Batches of (original current record, release time) of every cable."""
    after = ""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(cables.c.reference_id, cables.c.release_at, revisions.c.record,
                       revisions.c.header, revisions.c.body)
                .join(revisions, and_(revisions.c.reference_id == cables.c.reference_id,
                                      revisions.c.revision == cables.c.current_revision))
                .where(cables.c.reference_id > after)
                .order_by(cables.c.reference_id).limit(batch)
            ).all()
        if not rows:
            return
        yield [(store.record_from_row(r), r.release_at) for r in rows]
        after = rows[-1].reference_id


# --------------------------------------------------------------------------- redactions


@dataclass(frozen=True)
class Span:
    """A chosen span of one text field of the current original record."""

    field: str
    start: int
    end: int
    text: str


_WORD_CHAR = re.compile(r"\w")


def _is_word_char(ch: str) -> bool:
    return bool(_WORD_CHAR.match(ch))


def widen_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) grown to whole words at both ends, then trimmed of spaces."""
    while start > 0 and start < len(text) and _is_word_char(text[start - 1]) \
            and _is_word_char(text[start]):
        start -= 1
    while 0 < end < len(text) and _is_word_char(text[end - 1]) and _is_word_char(text[end]):
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def locate_span(
    record: dict,
    *,
    field: str = "body",
    start: int | None = None,
    end: int | None = None,
    text: str | None = None,
    occurrence: int = 1,
) -> Span:
    """The span an editor means: offsets into ``field``, or the ``occurrence``-th
    match of ``text`` (matched as the gate matches: case and line breaks
    ignored), widened to whole words."""
    if field not in SPAN_FIELDS:
        raise PublishingError(f"a span is in one of: {', '.join(SPAN_FIELDS)}")
    source = record.get(field) or ""
    if text is not None and text.strip():
        pattern = redaction_pattern([text])
        matches = list(pattern.finditer(source)) if pattern else []
        if not matches:
            raise PublishingError(f"{text.strip()[:80]!r} does not occur in the {field}")
        if not 1 <= occurrence <= len(matches):
            raise PublishingError(
                f"{text.strip()[:80]!r} occurs {len(matches)} time(s) in the {field}; "
                f"occurrence {occurrence} does not exist"
            )
        start, end = matches[occurrence - 1].span()
    elif start is None or end is None:
        raise PublishingError("give the span's text, or its start and end offsets")
    if not 0 <= start < end <= len(source):
        raise PublishingError(
            f"offsets {start}-{end} are outside the {field} (0-{len(source)})"
        )
    start, end = widen_to_words(source, start, end)
    chosen = source[start:end]
    if not chosen.strip():
        raise PublishingError("the span is blank")
    if len(chosen) > MAX_SPAN:
        raise PublishingError(f"a span has at most {MAX_SPAN} characters")
    return Span(field, start, end, chosen)


def occurrences(record: dict, span_text: str) -> dict[str, int]:
    """How often the gate will redact ``span_text``: per text field, and how many
    of those matches are inside longer words (worth a second look)."""
    pattern = redaction_pattern([span_text])
    counts = {"total": 0, "inside_words": 0}
    if pattern is None:
        return counts
    for name in ("subject", "header", "body", "summary"):
        text = record.get(name) or ""
        for match in pattern.finditer(text):
            counts["total"] += 1
            a, b = match.span()
            if (a and _is_word_char(text[a - 1])) or (b < len(text) and _is_word_char(text[b])):
                counts["inside_words"] += 1
    return counts


def add_redaction(
    engine: Engine,
    reference_id: str,
    *,
    reason: str,
    by: str,
    field: str = "body",
    start: int | None = None,
    end: int | None = None,
    text: str | None = None,
    occurrence: int = 1,
    now: datetime | None = None,
) -> tuple[int, Span]:
    """Redact a span of a cable (see ``locate_span``); returns (redaction id, span)."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise PublishingError("a redaction needs a reason")
    with writing(engine) as conn:
        store.lock_changes(conn)
        record = store.get_record(conn, reference_id)
        if record is None:
            raise PublishingError(f"{reference_id} is not in the archive")
        span = locate_span(record, field=field, start=start, end=end, text=text,
                           occurrence=occurrence)
        new_id = store.add_redaction(
            conn, reference_id, span.text, reason=reason[:2000], created_by=by, now=now,
            field=span.field, start=span.start, end=span.end,
        )
        audit(conn, by, "redaction.add", reference_id,
              {"id": new_id, "field": span.field, "start": span.start, "end": span.end,
               "reason": reason[:2000]}, now)
    return new_id, span


def list_redactions(conn: Connection, reference_id: str) -> list[dict]:
    rows = conn.execute(
        select(redactions).where(redactions.c.reference_id == reference_id)
        .order_by(redactions.c.id)
    )
    return [dict(r._mapping) for r in rows]


@dataclass
class Unredaction:
    lifted: list[int]
    revision: int | None  # the new public revision, None when none was made


def unredact(
    engine: Engine,
    reference_id: str,
    redaction_ids: Sequence[int] | None = None,
    *,
    by: str,
    now: datetime | None = None,
) -> Unredaction:
    """Lift redactions of one cable (all active ones when ``redaction_ids`` is None)
    and, if the cable is public, publish its original text as a new revision."""
    now = now or utcnow()
    with writing(engine) as conn:
        store.lock_changes(conn)
        cable = conn.execute(
            select(cables).where(cables.c.reference_id == reference_id)
        ).first()
        if cable is None:
            raise PublishingError(f"{reference_id} is not in the archive")
        where = and_(redactions.c.reference_id == reference_id, redactions.c.lifted_at.is_(None))
        if redaction_ids is not None:
            where = and_(where, redactions.c.id.in_(list(redaction_ids)))
        ids = list(conn.execute(select(redactions.c.id).where(where)
                                .order_by(redactions.c.id)).scalars())
        if not ids:
            raise PublishingError("no active redaction to lift")
        conn.execute(update(redactions).where(redactions.c.id.in_(ids))
                     .values(lifted_at=now, lifted_by=by))
        revision = None
        if cable.release_at <= now:
            revision = _publish_unredacted_revision(conn, cable, ids, now)
        store.log_changes(conn, [(reference_id, "redaction")]
                          + ([(reference_id, "text")] if revision else []), now)
        audit(conn, by, "redaction.lift", reference_id, {"ids": ids, "revision": revision}, now)
    return Unredaction(ids, revision)


def _publish_unredacted_revision(conn: Connection, cable: Any, ids: list[int],
                                 now: datetime) -> int:
    """Copy the current revision's original text as a new current revision.

    Its ingested_at equals the lift time, so the gate shows it without the
    lifted redactions while every older revision keeps them. The content hash
    is marked as an unredaction's, so the original text ingested again is
    still recognised as its first revision (no duplicate revision).
    """
    current = conn.execute(
        select(revisions).where(revisions.c.reference_id == cable.reference_id,
                                revisions.c.revision == cable.current_revision)
    ).first()
    number = int(cable.revision_count) + 1
    marker = store.sha256(f"unredaction:{','.join(map(str, ids))}:{current.content_hash}")
    conn.execute(insert(revisions).values(
        reference_id=cable.reference_id, revision=number, content_hash=marker,
        body_hash=current.body_hash, header=current.header, body=current.body,
        record=current.record, released=now.strftime("%Y-%m-%d %H:%M"),
        source_format=UNREDACTION_FORMAT, source_path=None, source_row=None,
        ingested_at=now, ingest_run_id=None,
    ))
    conn.execute(update(cables).where(cables.c.reference_id == cable.reference_id)
                 .values(current_revision=number, revision_count=number, updated_at=now))
    return number


# --------------------------------------------------------------------------- editors' views


def editor_view(engine: Engine, reference_id: str, *, now: datetime | None = None) -> dict | None:
    """Everything an editor sees of one cable: the original record (released or
    not), its release state, redactions (active and lifted) and the public text
    as the gate will show it."""
    now = now or utcnow()
    with engine.connect() as conn:
        view = store.cable_view(conn, reference_id)
        if view is None:
            return None
        row = store.get_cable(conn, reference_id)
        view["release_at_dt"] = row.release_at
        view["release_set_by"] = row.release_set_by
        view["public"] = row.release_at <= now
        view["redactions"] = list_redactions(conn, reference_id)
        spans = [r["span_text"] for r in view["redactions"] if r["lifted_at"] is None]
        original = store.get_record(conn, reference_id) or {}
    view["public_preview"] = public_record(original, row.release_at, spans)
    view["marked_body"] = mark_spans(original.get("body") or "", spans)
    view["marked_header"] = mark_spans(original.get("header") or "", spans)
    return view


def mark_spans(text: str, spans: Sequence[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, redacted?) for the editor's highlighted view."""
    pattern = redaction_pattern(spans)
    if pattern is None:
        return [(text, False)] if text else []
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in pattern.finditer(text):
        if match.start() > last:
            pieces.append((text[last:match.start()], False))
        pieces.append((match.group(0), True))
        last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def find_cables(
    engine: Engine, text: str = "", *, embargoed_only: bool = False, limit: int = 100,
    now: datetime | None = None,
) -> list[dict]:
    """Editors' lookup by reference ID or subject words, released or not."""
    now = now or utcnow()
    query = select(cables.c.reference_id, cables.c.subject, cables.c.created,
                   cables.c.release_at, cables.c.origin, cables.c.classification)
    words = (text or "").split()[:8]
    for word in words:
        like = f"%{_escape_like(word.lower())}%"
        query = query.where(or_(func.lower(cables.c.reference_id).like(like, escape="\\"),
                                func.lower(cables.c.subject).like(like, escape="\\")))
    if embargoed_only:
        query = query.where(cables.c.release_at > now)
    query = query.order_by(cables.c.release_at.desc(), cables.c.reference_id).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) | {"public": r.release_at <= now} for r in conn.execute(query)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def redaction_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        active = conn.execute(select(func.count()).select_from(redactions)
                              .where(redactions.c.lifted_at.is_(None))).scalar_one()
        embargoed = conn.execute(select(func.count()).select_from(cables)
                                 .where(cables.c.release_at > utcnow())).scalar_one()
    return {"active_redactions": active, "embargoed": embargoed}


def describe(plan: ReleasePlan, now: datetime) -> str:
    """One line for the CLI and the audit trail."""
    counts = plan.counts(now)
    return (f"{counts['cables']} cable(s) to release at {plan.at:%Y-%m-%d %H:%M} UTC: "
            f"{counts['become_public']} become public, {counts['withdrawn']} withdrawn, "
            f"{counts['stay_public']} stay public, {counts['stay_embargoed']} stay embargoed"
            + (f"; {len(plan.missing)} not in the archive" if plan.missing else ""))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
