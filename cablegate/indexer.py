"""Keeping a search index in step with the archive, through the public gate.

The database is the source of truth; a search index (``cablegate.search``) is
derived from it and only ever receives public documents, built by
``PublicArchive``. Two things change what is public:

* rows of the ``changes`` log (new text, release time, redaction): the index
  records the last seq it applied (``index.last_seq``) and ``sync_index``
  applies the rows after it, re-reading each changed cable's public document
  (upsert) or removing it when it is not public (delete);
* time passing a scheduled release time, which writes nothing: the index
  directory keeps a watermark (``sync-state.json``, the clock time of the last
  sync) and ``sync_index`` also upserts the cables released since then.

Both are idempotent, so a crash between an index commit and the watermark
write only repeats work. ``rebuild`` makes a new index from scratch.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, select

from . import store
from .public import Clock, PublicArchive
from .schema import cables, changes

STATE_FILE = "sync-state.json"
_sync_lock = threading.Lock()
PAGE = 2000  # change-log rows read per step
DOC_BATCH = 500  # documents built per query

# Kinds of change that alter what the search index holds for a cable
# ("links" changes only touch the cites/cited-by view, which is not indexed).
INDEXED_KINDS = ("text", "release", "redaction")


def open_index(path: str | os.PathLike) -> Any:
    from .search import SearchIndex

    return SearchIndex(Path(path))


# --------------------------------------------------------------------------- watermark


def _state_path(index: Any) -> Path | None:
    path = getattr(index, "path", None)
    return None if path is None else Path(path) / STATE_FILE


def read_watermark(index: Any) -> datetime | None:
    path = _state_path(index)
    if path is None or not path.is_file():
        return None
    try:
        return datetime.fromisoformat(json.loads(path.read_text())["released_until"])
    except (ValueError, KeyError, TypeError):
        return None


def write_watermark(index: Any, when: datetime) -> None:
    path = _state_path(index)
    if path is None:
        return
    from .search import replace_file

    replace_file(path, json.dumps({"released_until": when.isoformat()}))


# --------------------------------------------------------------------------- applying


def apply_documents(index: Any, docs: dict[str, dict | None]) -> tuple[int, int]:
    """Upsert the public documents, delete the refids mapped to None: (upserted, deleted)."""
    upserts = [doc for doc in docs.values() if doc is not None]
    deletes = [refid for refid, doc in docs.items() if doc is None]
    if upserts:
        index.upsert(upserts)
    if deletes:
        index.delete(deletes)
    return len(upserts), len(deletes)


def commit(index: Any, last_seq: int) -> None:
    index.commit(last_seq=last_seq)


def _changed_refids(rows: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(r.reference_id for r in rows if r.kind in INDEXED_KINDS))


def sync_index(
    engine: Engine, index: Any, *, now: Clock = None, fed_since: datetime | None = None
) -> dict[str, int]:
    """Bring ``index`` up to the change log's head and the current time.

    ``fed_since``: an ingest that fed the index itself since that time (its
    documents of cables already released when written need no second look).
    Returns counts: ``changes`` read, documents ``upserted`` and ``deleted``.
    """
    archive = PublicArchive(engine, None, now)
    clock = archive.now()
    counts = {"changes": 0, "upserted": 0, "deleted": 0}
    start_seq = int(index.last_seq or 0)
    watermark = read_watermark(index)
    if watermark is None and start_seq == 0:
        # A fresh index: replaying the whole log already reads everything
        # public as of ``clock``.
        watermark = clock
    last = start_seq
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(changes.c.seq, changes.c.reference_id, changes.c.kind)
                .where(changes.c.seq > last)
                .order_by(changes.c.seq)
                .limit(PAGE)
            ).all()
        if not rows:
            break
        refids = _changed_refids(rows)
        for chunk in _chunks(refids, DOC_BATCH):
            up, down = apply_documents(index, archive.public_documents(chunk))
            counts["upserted"] += up
            counts["deleted"] += down
        counts["changes"] += len(rows)
        last = rows[-1].seq
        commit(index, last)
    due = released_between(engine, watermark, clock, fed_since=fed_since)
    for chunk in _chunks(due, DOC_BATCH):
        up, down = apply_documents(index, archive.public_documents(chunk))
        counts["upserted"] += up
        counts["deleted"] += down
    if due or last != start_seq:
        commit(index, last)
    write_watermark(index, clock)
    return counts


def released_between(
    engine: Engine, after: datetime | None, until: datetime, *, fed_since: datetime | None = None
) -> list[str]:
    """Cables whose release time is in (after, until]: they became public meanwhile."""
    where = cables.c.release_at <= until
    if after is not None:
        where = and_(where, cables.c.release_at > after)
    if fed_since is not None:
        # Written (and so indexed) by the feeding ingest when already released.
        where = and_(where, ~and_(cables.c.updated_at >= fed_since,
                                  cables.c.release_at <= cables.c.updated_at))
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(cables.c.reference_id).where(where).order_by(cables.c.reference_id)
            ).scalars()
        )


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


# --------------------------------------------------------------------------- rebuild


def rebuild(engine: Engine, path: str | os.PathLike, *, now: Clock = None) -> dict[str, int]:
    """Refill the index at ``path`` with every public cable, from the database.

    In place: searches keep seeing the old documents until the final commit.
    Changes logged while it runs are applied by the closing sync.
    """
    index = open_index(path)
    try:
        archive = PublicArchive(engine, None, now)
        clock = archive.now()
        with engine.connect() as conn:
            head = store.head_seq(conn)
        index.clear()
        total = 0
        batch: list[dict] = []
        for record in archive.iter_records(batch=DOC_BATCH):
            batch.append(record)
            if len(batch) >= DOC_BATCH:
                index.upsert(batch)
                total, batch = total + len(batch), []
        if batch:
            index.upsert(batch)
            total += len(batch)
        index.commit(last_seq=head)
        write_watermark(index, clock)
        counts = sync_index(engine, index, now=now)
    finally:
        index.close()
    return {"documents": total, **counts}


def sync_if_due(engine: Engine, index: Any, *, now: Clock = None) -> bool:
    """Sync when the change log is ahead of the index or a release came due.

    Cheap to call before every search (two indexed queries). When another
    process holds the index's writer (an ingest, another server's sync) this
    one does nothing: that process brings the index up to date.
    """
    clock = PublicArchive(engine, None, now).now()
    with engine.connect() as conn:
        head = store.head_seq(conn)
        watermark = read_watermark(index)
        due = watermark is not None and store.release_due(conn, watermark, clock)
    if head <= int(index.last_seq or 0) and not due and watermark is not None:
        return False
    from .search import SearchIndexError

    # One syncing thread per process (a web server answers searches on several
    # threads); the others search meanwhile.
    if not _sync_lock.acquire(blocking=False):
        return False
    try:
        sync_index(engine, index, now=now)
    except SearchIndexError:
        return False
    finally:
        try:
            index.close()
        finally:
            _sync_lock.release()
    return True


def wait_until_current(engine: Engine, index: Any, timeout: float) -> bool:
    """Bring ``index`` up to the change log's head as it is now, so an editor's
    redaction or withdrawal is in force in search when the caller says it is
    done. Another process may hold the index writer (a server's sync, an
    ingest): retry until ``timeout`` seconds. Whether the index got there."""
    with engine.connect() as conn:
        head = store.head_seq(conn)
    deadline = time.monotonic() + timeout
    while int(index.last_seq or 0) < head:
        sync_if_due(engine, index)
        if int(index.last_seq or 0) >= head or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return int(index.last_seq or 0) >= head


def sync_now(engine: Engine, index: Any, *, now: Clock = None) -> dict[str, int]:
    """Sync right away (after an editor's change), then release the writer.

    Waits for a sync running on another thread of this process; raises
    ``search.SearchIndexError`` when another process holds the writer.
    """
    with _sync_lock:
        try:
            return sync_index(engine, index, now=now)
        finally:
            index.close()
