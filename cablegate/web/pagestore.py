"""A persistent cache of rendered pages, shared by the worker processes.

Rendering a cable page costs a few milliseconds (several queries through the
gate, the text annotation, the template), a search page ~30 ms, a browse page
10-300 ms; serving a stored one costs tens of microseconds. The store is a
SQLite file beside the archive (``<db>.pages``, like the search index: derived
data, deleted at will) holding:

* ``pages``: per cable, the HTML (uncompressed: decompressing 20 KB cost more
  than the whole lookup) with the offsets of its per-reader placeholders, the
  JSON (zlib), and ``seq``, the change-log head observed *before* the page was
  read from the archive;
* ``views``: rendered search and browse pages (HTML or JSON) keyed by their
  route and parameters, stamped with the change-log head and release counts
  they were rendered under.

Exactness across processes, without any process-local state that could lie:

* every lookup first brings this process up to date with the archive: a
  ``PRAGMA data_version`` on a private read-only connection to the archive
  file (~15 µs) says whether any other connection committed anything since
  the last look; only then is the change log read (and always on other
  databases). So a redaction, a withdrawal or an un-release is never served
  stale, not even for a moment: staleness bound zero for everything logged;
* ``stale(refid, seq)``: the change log's entries are applied by every
  worker that reads them (idempotently): the changed cable, the cables whose
  pages show it (``deps``: what a page cites and is cited by) and the cables
  its new text cites get ``stale.seq = change seq``; a stored cable page is
  served only if its ``seq`` >= its ``stale.seq``, whatever the interleaving
  of workers;
* a view is served only when its stamp equals this process's (change-log
  head, release counts): any logged change invalidates every view. A search
  view is stored only when the search index had applied the change log up
  to that head before the search ran (else the index may lag the archive
  for ~2 s, and a page from it must not outlive that);
* releases by time write nothing: every ``count_interval`` s (2 s) the
  store looks whether a release time has passed (one index seek) or the
  archive was written, and if so re-reads the release counter
  (released/total); when it moves every stored page and view is dropped.
  That is the staleness bound of a cable *appearing* by its scheduled
  release (nothing is hidden late: hiding a public cable is a logged change).

Not-found answers are never stored (an embargoed cable must appear the moment
it is released).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import jsoncodec
from ..csrf import BASE_PLACEHOLDER, FIELD_PLACEHOLDER

FORMAT = "2"  # bumped when the tables change: an older store is emptied and rebuilt
SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    refid TEXT PRIMARY KEY, seq INTEGER NOT NULL, path TEXT NOT NULL, json_path TEXT NOT NULL,
    html BLOB NOT NULL, marks TEXT NOT NULL, json BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deps (target TEXT NOT NULL, refid TEXT NOT NULL,
    PRIMARY KEY (target, refid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stale (refid TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS views (
    key TEXT PRIMARY KEY, head INTEGER NOT NULL, counts TEXT NOT NULL, status INTEGER NOT NULL,
    media TEXT NOT NULL, body BLOB NOT NULL, stored REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_OLD_TABLES = ("pages", "deps", "stale", "views")
_LOOKUP = (
    "SELECT p.path, p.json_path, p.html, p.marks, p.json FROM pages p "
    "LEFT JOIN stale s USING (refid) WHERE p.refid = ? AND p.seq >= COALESCE(s.seq, 0)"
)
_VIEW = "SELECT status, media, body FROM views WHERE key = ? AND head = ? AND counts = ?"
MAX_VIEWS = 5000  # rendered search/browse pages kept (~50 KB each)
_PLACEHOLDERS = {FIELD_PLACEHOLDER.encode(): "f", BASE_PLACEHOLDER.encode(): "b"}


def placeholder_marks(html: bytes) -> str:
    """``"offset:kind,..."`` of the per-reader placeholders in ``html`` (kind f: the
    CSRF field, b: the site address), so serving is slicing, not searching."""
    found = []
    for needle, kind in _PLACEHOLDERS.items():
        start = html.find(needle)
        while start >= 0:
            found.append((start, kind))
            start = html.find(needle, start + len(needle))
    return ",".join(f"{offset}:{kind}" for offset, kind in sorted(found))


def split_marks(html: bytes, marks: str) -> list[bytes | str]:
    """``html`` cut at its placeholders: bytes pieces, with ``"f"``/``"b"`` in their places."""
    if not marks:
        return [html]
    pieces: list[bytes | str] = []
    at = 0
    for mark in marks.split(","):
        offset_text, kind = mark.split(":")
        offset = int(offset_text)
        pieces.append(html[at:offset])
        pieces.append(kind)
        at = offset + len(FIELD_PLACEHOLDER if kind == "f" else BASE_PLACEHOLDER)
    pieces.append(html[at:])
    return pieces


@dataclass
class StoredPage:
    path: str
    json_path: str
    html_bytes: bytes  # with the placeholders (``csrf.fill_page`` fills them)
    marks: str  # where they are (``placeholder_marks``)
    _json: bytes

    @property
    def json_bytes(self) -> bytes:
        return zlib.decompress(self._json)

    def html_pieces(self) -> list[bytes | str]:
        return split_marks(self.html_bytes, self.marks)


@dataclass
class StoredView:
    status: int
    media_type: str
    body: bytes


class ArchiveProbe:
    """Whether the archive database may have changed since the last call.

    On a SQLite file: ``PRAGMA data_version`` on a connection of our own that
    never writes, which moves whenever any other connection (any process, or
    this one's pool) commits. Elsewhere: always "maybe" (read the change log).
    """

    def __init__(self, archive: Any) -> None:
        self._db: sqlite3.Connection | None = None
        self._version: int | None = None
        path = _sqlite_file(getattr(archive, "engine", None))
        if path is not None:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)

    def changed(self) -> bool:
        if self._db is None:
            return True
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return False
        self._version = version
        return True


def _sqlite_file(engine: Any) -> str | None:
    url = getattr(engine, "url", None)
    if url is None or url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


class PageStore:
    """Rendered pages in ``path`` (SQLite), kept exact by the change log."""

    def __init__(self, archive: Any, path: str | os.PathLike, *, count_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, max_views: int = MAX_VIEWS) -> None:
        self.archive = archive
        self.path = Path(path)
        self.count_interval = count_interval
        self.max_views = max_views
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.RLock()  # one refresh at a time: the probe and _seq are shared
        self._probe = ArchiveProbe(archive)
        self._probe.changed()  # the baseline, taken before the head below
        self._check_format()
        self._seq = self._head()  # the last change applied by this process
        self._counted_at = archive.now()  # archive time of the last count
        self._written = False  # the archive was written since the last count
        self._counts = self._read_counts()
        self._counts_at = clock()
        self._check_counts_marker()
        self.on_counts_change: Callable[[], None] | None = None
        self.hits = self.misses = 0
        self._views_stored = 0
        self._flights: dict[str, threading.Lock] = {}

    # -- connections (one per thread; SQLite in WAL mode for concurrent workers)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA mmap_size=4294967296")  # reads without a syscall per page
            self._local.db = db
        return db

    def _check_format(self) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != FORMAT:  # an older layout: derived data, start again
                for table in _OLD_TABLES:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("DELETE FROM meta")
                db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.executescript(SCHEMA)

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

    def refresh(self) -> tuple[int, str]:
        """Apply what changed since this process last looked; (change-log head, counts)."""
        with self._lock:
            if self._probe.changed():
                self._written = True
                head, changed = self.archive.changes_since(self._seq)
                if changed is None:
                    self.clear()
                elif changed:
                    self.invalidate(changed, head)
                self._seq = head
            now = self._clock()
            if now - self._counts_at >= self.count_interval:
                self._counts_at = now
                moment = self.archive.now()
                # Counting is a scan (~25 ms per 250,000 cables, on the event loop):
                # only when something was written or a release time has passed.
                due = self._written or self._released_between(self._counted_at, moment)
                self._counted_at, self._written = moment, False
                counts = self._read_counts() if due else self._counts
                if counts != self._counts:
                    self._counts = counts
                    self._check_counts_marker()
                    if self.on_counts_change is not None:
                        self.on_counts_change()
            return self._seq, self._counts

    def _released_between(self, since: Any, until: Any) -> bool:
        """Whether a cable's release time lies in (since, until] (``store.release_due``)."""
        engine = getattr(self.archive, "engine", None)
        if engine is None:
            return True
        from ..store import release_due

        with engine.connect() as conn:
            return release_due(conn, since, until)

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
        db.execute("DELETE FROM views WHERE head < ?", (seq,))  # never served again

    def clear(self) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        for table in _OLD_TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
        db.execute("COMMIT")

    # -- cable pages

    def lookup(self, refid: str) -> StoredPage | None:
        """The stored page of ``refid`` if still exact (after applying the change log)."""
        self.refresh()
        row = self._db().execute(_LOOKUP, (refid,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return StoredPage(*row)

    def get(self, refid: str, render: Callable[[str], Any]) -> StoredPage:
        """The stored page of ``refid`` if still exact, else rendered (``render`` may raise)."""
        return self.lookup(refid) or self.render(refid, render)

    def render(self, refid: str, render: Callable[[str], Any]) -> StoredPage:
        """Render ``refid`` and store it, stamped with the head applied before reading."""
        self.misses += 1
        seq = self.refresh()[0]  # the archive as of this seq (or later) is what render reads
        page = render(refid)
        html = page.html.encode()
        data = zlib.compress(
            jsoncodec.compact_bytes(page.data), 1)
        stored = StoredPage(page.path, page.json_path or page.path, html,
                            placeholder_marks(html), data)
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (refid, seq, stored.path, stored.json_path, html, stored.marks, data))
        db.execute("DELETE FROM deps WHERE refid = ?", (refid,))
        db.executemany("INSERT OR IGNORE INTO deps VALUES (?, ?)",
                       [(target, refid) for target in page.depends])
        db.execute("COMMIT")
        return stored

    # -- search and browse pages

    def view(self, key: str, render: Callable[[], StoredView],
             cacheable: Callable[[int], bool] | None = None) -> StoredView:
        """The page ``key`` names (route and parameters), rendered under the current
        archive or rendered now. Only 200 answers are stored, and only when
        ``cacheable(head)`` (if given) says the page reflects every change up to
        ``head`` (the search index may lag the change log)."""
        found = self.lookup_view(key)
        if found is not None:
            return found
        # One render per key at a time in this process: concurrent readers of a
        # page not stored yet (a popular search right after a change) wait for it.
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            try:
                found = self.lookup_view(key)
                if found is not None:
                    return found
                self.misses += 1
                head, counts = self.refresh()
                if cacheable is not None and not cacheable(head):
                    return render()
                view = render()
                if view.status == 200:
                    self._store_view(key, head, counts, view)
                return view
            finally:
                with self._lock:
                    self._flights.pop(key, None)

    def lookup_view(self, key: str) -> StoredView | None:
        """The stored page ``key`` if rendered under the current archive."""
        head, counts = self.refresh()
        row = self._db().execute(_VIEW, (key, head, counts)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return StoredView(*row)

    def _store_view(self, key: str, head: int, counts: str, view: StoredView) -> None:
        db = self._db()
        db.execute("INSERT OR REPLACE INTO views VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (key, head, counts, view.status, view.media_type, view.body, time.time()))
        self._views_stored += 1
        if self._views_stored % 100 == 0:  # keep the newest max_views
            db.execute("DELETE FROM views WHERE key IN (SELECT key FROM views "
                       "ORDER BY stored DESC LIMIT -1 OFFSET ?)", (self.max_views,))


def default_path(db_url: str | None) -> Path:
    """``<file>.pages`` beside a SQLite archive; ``./cablegate-pages.db`` otherwise."""
    from sqlalchemy.engine import make_url

    from ..db import database_url

    parsed = make_url(database_url(db_url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database + ".pages")
    return Path("cablegate-pages.db")
