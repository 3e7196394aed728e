"""The raw archive: cables, revisions, links, tags, rejects and the change log.

Everything here reads or writes the *original* texts: editors' views and the
ingest use it; public surfaces go through ``cablegate.public`` instead.

Writes take an open connection inside a write transaction (``db.writing``), so
a caller groups them atomically; every write that changes what the public sees
of a cable appends to ``changes`` in that same transaction (``log_changes``).
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, delete, func, insert, select, text, update

from . import jsoncodec
from .record import FIELDS, Record
from .schema import cable_tags, cables, changes, links, redactions, rejects, revisions

# Fields kept in their own columns rather than in the revision's JSON.
TEXT_FIELDS = ("header", "body")


# --------------------------------------------------------------------------- preparing


@dataclass
class Prepared:
    """A parse record reduced to what the store writes (built in the parse worker)."""

    reference_id: str
    header: str | None
    body: str | None
    record_json: str  # the record without header/body
    content_hash: str
    body_hash: str
    released: str | None
    created: str | None
    classification: str | None
    origin: str | None
    origin_code: str | None
    subject: str | None
    tags: list[str]
    references: list[str]
    source_format: str | None
    source_path: str | None
    source_row: int | None

    @property
    def input_key(self) -> str:
        return input_key(self.source_path, self.source_row)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def content_hashes(header: str | None, body: str | None) -> tuple[str, str]:
    """(hash of header + body, hash of body): a revision's identity.

    Only the cable text counts: the same text seen again under another Released
    value, source or format is the same revision.
    """
    return sha256(f"{header or ''}\x00{body or ''}"), sha256(body or "")


def prepare(record: Record) -> Prepared:
    """Reduce a record for storage; raises ValueError when it cannot be stored."""
    refid = (record.get("reference_id") or "").strip()
    if not refid:
        raise ValueError("record has no reference ID")
    if len(refid) > 64:
        raise ValueError(f"reference ID too long: {refid[:70]!r}")
    if not (record.get("header") or record.get("body")):
        raise ValueError(f"{refid}: record has no cable text")
    header, body = record.get("header"), record.get("body")
    stored = {k: record.get(k) for k in FIELDS if k not in TEXT_FIELDS}
    source = record.get("source") or {}
    content_hash, body_hash = content_hashes(header, body)
    references = []
    for ref in record.get("references") or []:
        if isinstance(ref, str) and ref and ref != refid and ref not in references:
            references.append(ref[:64])
    return Prepared(
        reference_id=refid,
        header=header,
        body=body,
        record_json=jsoncodec.compact_text(stored),
        content_hash=content_hash,
        body_hash=body_hash,
        released=record.get("released"),
        created=record.get("created"),
        classification=record.get("classification"),
        origin=record.get("origin"),
        origin_code=record.get("origin_code"),
        subject=record.get("subject"),
        tags=[t for t in dict.fromkeys(record.get("tags") or []) if isinstance(t, str) and t],
        references=references,
        source_format=source.get("format"),
        source_path=None if source.get("path") is None else str(source.get("path")),
        source_row=source.get("row"),
    )


def input_key(path: str | None, row: int | None) -> str:
    """The identity of one input: a file, or one row of a file."""
    key = path or "<input>"
    return key if row is None else f"{key}:{row}"


def parse_time(value: str | None) -> datetime | None:
    """A record's "YYYY-MM-DD HH:MM" (or ISO) time as naive UTC, None if absent/odd."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("T", " "))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz=None).replace(tzinfo=None)
    return parsed


def year_of(created: str | None) -> int | None:
    if created and len(created) >= 4 and created[:4].isdigit():
        return int(created[:4])
    return None


# --------------------------------------------------------------------------- writing


@dataclass
class BatchResult:
    new: int = 0
    new_revision: int = 0
    unchanged: int = 0
    rejected: int = 0
    changed: dict[str, Prepared] = field(default_factory=dict)  # refid -> current text
    release_at: dict[str, datetime] = field(default_factory=dict)  # of the changed cables
    release_changed: list[str] = field(default_factory=list)  # release moved, text did not
    seq_from: int = 0  # the change log's head before this batch ...
    seq_to: int = 0  # ... and after it: rows in (seq_from, seq_to] are this batch's


@dataclass
class _CableState:
    exists: bool
    current_revision: int
    revision_count: int
    released: str | None
    release_at: datetime | None
    release_set_by: str | None
    hashes: set[str] = field(default_factory=set)
    body_hashes: set[str] = field(default_factory=set)


def log_changes(conn: Connection, refids: Iterable[tuple[str, str]], now: datetime) -> None:
    """Append (reference_id, kind) rows to the change log, in the caller's transaction."""
    rows = [{"reference_id": r, "kind": k, "changed_at": now} for r, k in refids]
    if not rows:
        return
    lock_changes(conn)
    insert_many(conn, changes, rows)


def lock_changes(conn: Connection) -> None:
    """Serialise writers of the change log until the transaction ends.

    PostgreSQL hands out sequence values before commit; a self-conflicting lock
    held to commit makes seq order equal commit order, so a reader that has
    applied up to seq N never later sees a smaller seq appear. (A SQLite write
    transaction already holds the database's one write lock.)
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE"))


_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def insert_many(conn: Connection, table: Any, rows: Sequence[dict]) -> None:
    """INSERT rows straight through the driver's executemany.

    The bulk path of ingest: SQLAlchemy's per-row parameter processing cost
    more than SQLite's own work here. Values are converted as SQLAlchemy would
    (DateTime as ISO text with microseconds on SQLite), each distinct time once:
    a batch's rows share their ingest time.
    """
    if not rows:
        return
    columns = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f'INSERT INTO {table.name} ({", ".join(columns)}) '  # noqa: S608 - names from schema.py
        f'VALUES ({", ".join([mark] * len(columns))})'
    )
    values = operator.itemgetter(*columns)
    params = [values(row) for row in rows] if len(columns) > 1 else [(values(r),) for r in rows]
    times = [n for n, c in enumerate(columns) if isinstance(table.c[c].type, DateTime)]
    if times and conn.dialect.name == "sqlite":
        params = _sqlite_times(params, times)
    conn.exec_driver_sql(sql, params)


def _sqlite_times(params: list[tuple], positions: list[int]) -> list[tuple]:
    """``params`` with the datetimes at ``positions`` as SQLAlchemy's SQLite text."""
    text_of: dict[datetime, str] = {}
    converted = []
    for row in params:
        row = list(row)
        for n in positions:
            value = row[n]
            if isinstance(value, datetime):
                found = text_of.get(value)
                if found is None:
                    found = text_of[value] = value.strftime(_SQLITE_TIME)
                row[n] = found
        converted.append(tuple(row))
    return converted


def _load_states(conn: Connection, refids: Sequence[str]) -> dict[str, _CableState]:
    states: dict[str, _CableState] = {}
    for chunk in _chunks(list(refids), 500):
        rows = conn.execute(
            select(
                cables.c.reference_id,
                cables.c.current_revision,
                cables.c.revision_count,
                cables.c.released,
                cables.c.release_at,
                cables.c.release_set_by,
            ).where(cables.c.reference_id.in_(chunk))
        )
        for r in rows:
            states[r.reference_id] = _CableState(True, *r[1:])
        rows = conn.execute(
            select(revisions.c.reference_id, revisions.c.content_hash, revisions.c.body_hash).where(
                revisions.c.reference_id.in_(chunk)
            )
        )
        for refid, chash, bhash in rows:
            states[refid].hashes.add(chash)
            states[refid].body_hashes.add(bhash)
    return states


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _is_known(state: _CableState, item: Prepared) -> bool:
    if item.content_hash in state.hashes:
        return True
    # A source that carries only the body (no transmission header) of a text
    # already stored adds nothing: not a new revision.
    return not item.header and item.body_hash in state.body_hashes


def _cable_values(item: Prepared) -> dict[str, Any]:
    return {
        "created": item.created,
        "year": year_of(item.created),
        "classification": item.classification,
        "origin": item.origin,
        "origin_code": item.origin_code,
        "subject": item.subject,
        "tags": jsoncodec.compact_text(item.tags),
    }


def write_batch(
    conn: Connection,
    items: Sequence[Prepared],
    errors: Sequence[tuple[str | None, int | None, str]],
    *,
    now: datetime,
    run_id: int | None = None,
) -> BatchResult:
    """Store one batch of prepared records and rejected inputs, in ``conn``'s transaction.

    Idempotent: a text already stored for its reference ID changes nothing.
    ``errors`` are (path, row, reason) of inputs that could not be parsed.
    """
    result = BatchResult(rejected=len(errors))
    lock_changes(conn)
    result.seq_from = head_seq(conn)
    states = _load_states(conn, sorted({i.reference_id for i in items}))
    new_cables: dict[str, dict] = {}
    updated_cables: dict[str, dict] = {}
    release_updates: dict[str, dict] = {}
    new_revisions: list[dict] = []
    change_rows: list[tuple[str, str]] = []

    for item in items:
        state = states.get(item.reference_id)
        if state is None:
            state = states[item.reference_id] = _CableState(False, 0, 0, None, None, None)
        if _is_known(state, item):
            result.unchanged += 1
        else:
            state.revision_count += 1
            state.current_revision = state.revision_count
            state.hashes.add(item.content_hash)
            state.body_hashes.add(item.body_hash)
            new_revisions.append(_revision_row(item, state.current_revision, now, run_id))
            values = _cable_values(item)
            values.update(current_revision=state.current_revision,
                          revision_count=state.revision_count, updated_at=now)
            if state.exists:
                result.new_revision += 1
                updated_cables[item.reference_id] = values
            elif item.reference_id in new_cables:
                result.new_revision += 1  # two texts of a new cable in one batch
                new_cables[item.reference_id].update(values)
            else:
                result.new += 1
                new_cables[item.reference_id] = values
            result.changed[item.reference_id] = item
        _apply_release(state, item, now, release_updates)

    for refid, values in new_cables.items():
        state = states[refid]
        values.update(reference_id=refid, released=state.released,
                      release_at=state.release_at, first_ingested_at=now)
        release_updates.pop(refid, None)
    if new_cables:
        insert_many(conn, cables, list(new_cables.values()))
    if updated_cables:
        _update_cables(conn, updated_cables)
    if release_updates:
        conn.execute(
            update(cables)
            .where(cables.c.reference_id == bindparam("b_refid"))
            .values(released=bindparam("b_released"), release_at=bindparam("b_release_at")),
            list(release_updates.values()),
        )
        result.release_changed = [r for r in release_updates if r not in result.changed]
        change_rows += [(r, "release") for r in result.release_changed]
    if new_revisions:
        insert_many(conn, revisions, new_revisions)
    if result.changed:
        change_rows += [(r, "text") for r in result.changed]
        change_rows += _replace_links_and_tags(conn, result.changed, set(new_cables))
    log_changes(conn, change_rows, now)
    result.seq_to = head_seq(conn)
    result.release_at = {r: states[r].release_at for r in result.changed}  # type: ignore[misc]
    _clear_rejects(conn, {i.input_key for i in items})
    record_rejects(conn, errors, now=now, run_id=run_id)
    return result


def _revision_row(item: Prepared, number: int, now: datetime, run_id: int | None) -> dict:
    return {
        "reference_id": item.reference_id,
        "revision": number,
        "content_hash": item.content_hash,
        "body_hash": item.body_hash,
        "header": item.header,
        "body": item.body,
        "record": item.record_json,
        "released": item.released,
        "source_format": item.source_format,
        "source_path": item.source_path,
        "source_row": item.source_row,
        "ingested_at": now,
        "ingest_run_id": run_id,
    }


def _apply_release(
    state: _CableState, item: Prepared, now: datetime, updates: dict[str, dict]
) -> None:
    """Default release time: the earliest Released value seen; ingest time if none.

    An editor's choice (release_set_by) is never overridden by ingest.
    """
    if state.release_set_by:
        return
    seen = parse_time(item.released)
    if state.release_at is None:
        state.released, state.release_at = item.released, seen or now
    elif seen is not None and seen < state.release_at:
        state.released, state.release_at = item.released, seen
    else:
        return
    if state.exists:
        updates[item.reference_id] = {
            "b_refid": item.reference_id,
            "b_released": state.released,
            "b_release_at": state.release_at,
        }


def _update_cables(conn: Connection, values: dict[str, dict]) -> None:
    params = [{"b_" + k: v for k, v in vals.items()} | {"b_refid": r} for r, vals in values.items()]
    columns = next(iter(values.values())).keys()
    conn.execute(
        update(cables)
        .where(cables.c.reference_id == bindparam("b_refid"))
        .values({c: bindparam("b_" + c) for c in columns}),
        params,
    )


def _replace_links_and_tags(
    conn: Connection, changed: dict[str, Prepared], new_refids: set[str]
) -> list[tuple[str, str]]:
    """Rewrite links and tags of changed cables; the cables whose links view changes."""
    refids = [r for r in changed if r not in new_refids]  # new cables have no old rows
    old_targets: set[str] = set()
    for chunk in _chunks(refids, 500):
        old_targets |= set(
            conn.execute(select(links.c.target_id).where(links.c.source_id.in_(chunk))).scalars()
        )
        conn.execute(delete(links).where(links.c.source_id.in_(chunk)))
        conn.execute(delete(cable_tags).where(cable_tags.c.reference_id.in_(chunk)))
    link_rows = [
        {"source_id": r, "target_id": t, "position": n}
        for r, item in changed.items()
        for n, t in enumerate(item.references)
    ]
    tag_rows = [{"reference_id": r, "tag": t[:64]} for r, item in changed.items()
                for t in dict.fromkeys(x[:64] for x in item.tags)]
    if link_rows:
        insert_many(conn, links, link_rows)
    if tag_rows:
        insert_many(conn, cable_tags, tag_rows)
    # "cites" of cables citing a new cable now resolve; "cited by" of the cables
    # a changed cable cites (or no longer cites) changes.
    touched = old_targets | {row["target_id"] for row in link_rows}
    for chunk in _chunks(sorted(new_refids), 500):
        touched |= set(
            conn.execute(select(links.c.source_id).where(links.c.target_id.in_(chunk))).scalars()
        )
    touched -= set(changed)
    existing: set[str] = set()
    for chunk in _chunks(sorted(touched), 500):
        existing |= set(
            conn.execute(
                select(cables.c.reference_id).where(cables.c.reference_id.in_(chunk))
            ).scalars()
        )
    return [(r, "links") for r in sorted(existing)]


def _clear_rejects(conn: Connection, keys: set[str]) -> None:
    for chunk in _chunks(sorted(keys), 500):
        conn.execute(delete(rejects).where(rejects.c.input_key.in_(chunk)))


def record_rejects(
    conn: Connection,
    errors: Sequence[tuple[str | None, int | None, str]],
    *,
    now: datetime,
    run_id: int | None = None,
) -> None:
    """Record rejected inputs: one row per input, refreshed when seen again."""
    if not errors:
        return
    latest = {input_key(p, r): (p, r, reason) for p, r, reason in errors}
    known: set[str] = set()
    for chunk in _chunks(sorted(latest), 500):
        known |= set(
            conn.execute(select(rejects.c.input_key).where(rejects.c.input_key.in_(chunk))).scalars()
        )
    fresh = [
        {"input_key": k, "path": p, "row": r, "reason": reason, "first_seen_at": now,
         "last_seen_at": now, "ingest_run_id": run_id}
        for k, (p, r, reason) in latest.items() if k not in known
    ]
    again = [
        {"b_key": k, "b_reason": latest[k][2], "b_now": now, "b_run": run_id} for k in known
    ]
    if fresh:
        conn.execute(insert(rejects), fresh)
    if again:
        conn.execute(
            update(rejects)
            .where(rejects.c.input_key == bindparam("b_key"))
            .values(reason=bindparam("b_reason"), last_seen_at=bindparam("b_now"),
                    ingest_run_id=bindparam("b_run")),
            again,
        )


# --------------------------------------------------------------------------- editing


def set_release_at(
    conn: Connection, refids: Sequence[str], at: datetime, *, by: str, now: datetime
) -> int:
    """Schedule cables for release at ``at`` (an editor's choice, kept by later ingests)."""
    done = 0
    for chunk in _chunks(list(refids), 500):
        done += conn.execute(
            update(cables)
            .where(cables.c.reference_id.in_(chunk))
            .values(release_at=at, release_set_by=by, updated_at=now)
        ).rowcount
    log_changes(conn, [(r, "release") for r in refids], now)
    return done


def add_redaction(
    conn: Connection,
    reference_id: str,
    span_text: str,
    *,
    reason: str,
    created_by: str,
    now: datetime,
    field: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> int:
    """Mark a span for redaction; returns the redaction id."""
    if not span_text.strip():
        raise ValueError("a redaction needs a non-blank span")
    new_id = conn.execute(
        insert(redactions).values(
            reference_id=reference_id, span_text=span_text, field=field,
            start_offset=start, end_offset=end, reason=reason,
            created_by=created_by, created_at=now,
        )
    ).inserted_primary_key[0]
    log_changes(conn, [(reference_id, "redaction")], now)
    return int(new_id)


def lift_redaction(conn: Connection, redaction_id: int, *, by: str, now: datetime) -> bool:
    refid = conn.execute(
        select(redactions.c.reference_id).where(
            redactions.c.id == redaction_id, redactions.c.lifted_at.is_(None)
        )
    ).scalar()
    if refid is None:
        return False
    conn.execute(
        update(redactions)
        .where(redactions.c.id == redaction_id)
        .values(lifted_at=now, lifted_by=by)
    )
    log_changes(conn, [(refid, "redaction")], now)
    return True


def active_redactions(conn: Connection, refids: Sequence[str]) -> dict[str, list[str]]:
    """reference_id -> the span texts of its active redactions."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(list(refids), 500):
        rows = conn.execute(
            select(redactions.c.reference_id, redactions.c.span_text)
            .where(redactions.c.reference_id.in_(chunk), redactions.c.lifted_at.is_(None))
            .order_by(redactions.c.id)
        )
        for refid, span in rows:
            found.setdefault(refid, []).append(span)
    return found


# --------------------------------------------------------------------------- reading


def record_from_row(row: Any) -> Record:
    """The full parse record of a revisions row (JSON + header/body columns)."""
    stored = jsoncodec.loads(row.record)
    stored["header"], stored["body"] = row.header, row.body
    return {name: stored.get(name) for name in FIELDS}


def get_cable(conn: Connection, reference_id: str) -> Any:
    return conn.execute(select(cables).where(cables.c.reference_id == reference_id)).first()


def get_record(conn: Connection, reference_id: str, revision: int | None = None) -> Record | None:
    """The original record of a revision (the current one by default)."""
    query = select(revisions.c.record, revisions.c.header, revisions.c.body).where(
        revisions.c.reference_id == reference_id
    )
    if revision is None:
        query = query.where(
            revisions.c.revision
            == select(cables.c.current_revision)
            .where(cables.c.reference_id == reference_id)
            .scalar_subquery()
        )
    else:
        query = query.where(revisions.c.revision == revision)
    row = conn.execute(query).first()
    return None if row is None else record_from_row(row)


def list_revisions(conn: Connection, reference_id: str) -> list[dict]:
    rows = conn.execute(
        select(
            revisions.c.revision, revisions.c.ingested_at, revisions.c.released,
            revisions.c.source_format, revisions.c.source_path, revisions.c.source_row,
            revisions.c.content_hash,
        )
        .where(revisions.c.reference_id == reference_id)
        .order_by(revisions.c.revision)
    )
    return [dict(r._mapping) for r in rows]


# Built once: these run for every cable page render, and building a statement
# costs more CPU than SQLite takes to answer it.
_CITES = (
    select(links.c.target_id, cables)
    .select_from(links.outerjoin(cables, cables.c.reference_id == links.c.target_id))
    .where(links.c.source_id == bindparam("refid"))
    .order_by(links.c.position)
)
_CITED_BY = (
    select(cables)
    .join(links, links.c.source_id == cables.c.reference_id)
    .where(links.c.target_id == bindparam("refid"))
    .order_by(cables.c.created, cables.c.reference_id)
)


def cites(conn: Connection, reference_id: str) -> list[tuple[str, Any]]:
    """(target_id, target cable row or None) in the record's order."""
    rows = conn.execute(_CITES, {"refid": reference_id})
    return [(r.target_id, r if r.reference_id is not None else None) for r in rows]


def cited_by(conn: Connection, reference_id: str) -> list[Any]:
    """Cable rows of the archive's cables that cite ``reference_id``."""
    return list(conn.execute(_CITED_BY, {"refid": reference_id}))


def list_rejects(conn: Connection) -> list[dict]:
    rows = conn.execute(select(rejects).order_by(rejects.c.path, rejects.c.row))
    return [dict(r._mapping) for r in rows]


def head_seq(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))).scalar_one()


def release_due(conn: Connection, since: datetime, until: datetime) -> bool:
    """Whether some cable's release time lies in (since, until]: one index seek
    over release times (a scheduled release has come due)."""
    return conn.execute(
        select(cables.c.reference_id)
        .where(cables.c.release_at > since, cables.c.release_at <= until).limit(1)
    ).first() is not None


def stats(conn: Connection) -> dict[str, Any]:
    """Counts over the whole raw archive (editors' view)."""

    def grouped(column) -> dict[str, int]:
        rows = conn.execute(
            select(column, func.count()).group_by(column).order_by(func.count().desc(), column)
        )
        return {("unknown" if v is None else str(v)): n for v, n in rows}

    return {
        "cables": conn.execute(select(func.count()).select_from(cables)).scalar_one(),
        "revisions": conn.execute(select(func.count()).select_from(revisions)).scalar_one(),
        "by_year": dict(sorted(grouped(cables.c.year).items())),
        "by_origin": grouped(cables.c.origin),
        "by_classification": grouped(cables.c.classification),
        "rejects": conn.execute(select(func.count()).select_from(rejects)).scalar_one(),
    }


def cable_view(conn: Connection, reference_id: str) -> Record | None:
    """Editors' view of a cable: the original current record plus ``revision``,
    ``release_at``, ``revisions``, ``cites``, ``cited_by``, ``unresolved_references``
    (released or not: "in the archive" here means stored)."""
    row = get_cable(conn, reference_id)
    if row is None:
        return None
    out: dict[str, Any] = dict(get_record(conn, reference_id) or {})
    out["revision"] = row.current_revision
    out["release_at"] = row.release_at.strftime("%Y-%m-%d %H:%M")
    out["revisions"] = [
        {
            "revision": r["revision"],
            "ingested_at": r["ingested_at"].strftime("%Y-%m-%d %H:%M:%S"),
            "released": r["released"],
            "source_format": r["source_format"],
            "source_path": r["source_path"],
            "source_row": r["source_row"],
        }
        for r in list_revisions(conn, reference_id)
    ]
    out["cites"] = [
        {"reference_id": target, "in_archive": target_row is not None,
         "created": None if target_row is None else target_row.created}
        for target, target_row in cites(conn, reference_id)
    ]
    out["cited_by"] = [
        {"reference_id": r.reference_id, "subject": r.subject, "created": r.created}
        for r in cited_by(conn, reference_id)
    ]
    out["unresolved_references"] = [c["reference_id"] for c in out["cites"] if not c["in_archive"]]
    return out
