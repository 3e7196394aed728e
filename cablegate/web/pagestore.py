"""A persistent cache of rendered cable pages, shared by the worker processes.

Rendering a cable page costs a few milliseconds (several queries through the
gate, the text annotation, the template); serving a stored one costs tens of
microseconds. The store is a SQLite file beside the archive (``<db>.pages``,
like the search index: derived data, deleted at will) with, per cable, the
HTML and JSON (zlib-compressed) and ``seq``, the change-log head observed
*before* the page was read from the archive.

Exactness across processes, without any process-local state that could lie:

* ``stale(refid, seq)``: the change log's entries are applied by whichever
  worker reads them first (idempotently): the changed cable, the cables whose
  pages show it (``deps``: what a page cites and is cited by) and the cables
  its new text cites get ``stale.seq = change seq``;
* a stored page is served only if its ``seq`` >= its ``stale.seq``, so a page
  rendered from data older than a change is never served after that change
  has been applied, whatever the interleaving of workers;
* every request first applies the changes logged since the worker last
  looked (one indexed query on the archive), so a redaction or an un-release
  is never served stale;
* the release counter (released/total) is re-read every ``count_interval`` s;
  when it moves (releases by time, ingest), every stored page is dropped.

Not-found answers are never stored (an embargoed cable must appear the moment
it is released).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    refid TEXT PRIMARY KEY, seq INTEGER NOT NULL, path TEXT NOT NULL, json_path TEXT NOT NULL,
    html BLOB NOT NULL, json BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deps (target TEXT NOT NULL, refid TEXT NOT NULL,
    PRIMARY KEY (target, refid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stale (refid TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_LOOKUP = (
    "SELECT p.path, p.json_path, p.html, p.json FROM pages p LEFT JOIN stale s USING (refid) "
    "WHERE p.refid = ? AND p.seq >= COALESCE(s.seq, 0)"
)


@dataclass
class StoredPage:
    path: str
    json_path: str
    _html: bytes
    _json: bytes

    @property
    def html_bytes(self) -> bytes:
        return zlib.decompress(self._html)

    @property
    def json_bytes(self) -> bytes:
        return zlib.decompress(self._json)


class PageStore:
    """Rendered cable pages in ``path`` (SQLite), kept exact by the change log."""

    def __init__(self, archive: Any, path: str | os.PathLike, *, count_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.archive = archive
        self.path = Path(path)
        self.count_interval = count_interval
        self._clock = clock
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)
        self._seq = self._head()  # the last change applied by this process
        self._counts = self._read_counts()
        self._counts_at = clock()
        self._check_counts_marker()
        self.hits = self.misses = 0

    # -- connections (one per thread; SQLite in WAL mode for concurrent workers)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _head(self) -> int:
        head, _ = self.archive.changes_since(None)
        return head

    def _read_counts(self) -> str:
        return f"{self.archive.released_count()}/{self.archive.total_count()}"

    def _check_counts_marker(self) -> None:
        """Drop everything if the pages were rendered under other release counts."""
        db = self._db()
        row = db.execute("SELECT value FROM meta WHERE key = 'counts'").fetchone()
        if row is None or row[0] != self._counts:
            self.clear()
            db.execute("INSERT OR REPLACE INTO meta VALUES ('counts', ?)", (self._counts,))

    # -- freshness

    def refresh(self) -> None:
        head, changed = self.archive.changes_since(self._seq)
        if changed is None:
            self.clear()
        elif changed:
            self.invalidate(changed, head)
        self._seq = head
        now = self._clock()
        if now - self._counts_at >= self.count_interval:
            self._counts_at = now
            counts = self._read_counts()
            if counts != self._counts:
                self._counts = counts
                self._check_counts_marker()

    def invalidate(self, refids: list[str], seq: int) -> None:
        """Mark the pages that show any of ``refids`` stale as of change ``seq``."""
        targets = set(refids)
        for refid in refids:
            record = self.archive.get_cable(refid)
            targets.update((record or {}).get("references") or [])
        db = self._db()
        marks = list(targets)
        for i in range(0, len(refids), 500):
            chunk = refids[i:i + 500]
            marks += [r for (r,) in db.execute(
                f"SELECT refid FROM deps WHERE target IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk)]
        db.executemany(
            "INSERT INTO stale VALUES (?, ?) ON CONFLICT (refid) DO UPDATE "
            "SET seq = max(seq, excluded.seq)", [(r, seq) for r in set(marks)])

    def clear(self) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM pages")
        db.execute("DELETE FROM deps")
        db.execute("DELETE FROM stale")
        db.execute("COMMIT")

    # -- pages

    def get(self, refid: str, render: Callable[[str], Any]) -> StoredPage:
        """The stored page of ``refid`` if still exact, else rendered (``render`` may raise)."""
        self.refresh()
        row = self._db().execute(_LOOKUP, (refid,)).fetchone()
        if row is not None:
            self.hits += 1
            return StoredPage(*row)
        self.misses += 1
        seq = self._seq  # the archive as of this seq (or later) is what render reads
        page = render(refid)
        html = zlib.compress(page.html.encode(), 1)
        data = zlib.compress(
            json.dumps(page.data, ensure_ascii=False, separators=(",", ":")).encode(), 1)
        stored = StoredPage(page.path, page.json_path or page.path, html, data)
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
                   (refid, seq, stored.path, stored.json_path, html, data))
        db.execute("DELETE FROM deps WHERE refid = ?", (refid,))
        db.executemany("INSERT OR IGNORE INTO deps VALUES (?, ?)",
                       [(target, refid) for target in page.depends])
        db.execute("COMMIT")
        return stored


def default_path(db_url: str | None) -> Path:
    """``<file>.pages`` beside a SQLite archive; ``./cablegate-pages.db`` otherwise."""
    from sqlalchemy.engine import make_url

    from ..db import database_url

    parsed = make_url(database_url(db_url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database + ".pages")
    return Path("cablegate-pages.db")
