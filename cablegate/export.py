"""Exports of the public archive: bulk records and the static mirror.

* ``export_records``: every released cable's public record as JSON Lines (the
  ``cablegate parse`` format) or CSV (one row per cable, lists joined by
  ``|``), streamed from ``PublicArchive.iter_records``.
* ``export_site``: the whole public site as static files at the same URLs as
  the live site (``cable/2007/05/07MOSCOW2205.html`` and its ``.json`` twin,
  browse pages, value indexes, Atom feeds, the stylesheet), so any static web
  server can host a mirror. Incremental: a manifest of content hashes tells
  which files changed; only those are rewritten (atomically), and files of
  pages that no longer exist are removed. Every page is rendered by worker
  processes, each with its own database connection: cable pages 500 at a time
  from one batched gate read (``PublicArchive.cable_views``), browse pages a
  value (or 200 pages of one) at a time; see docs/performance.md.

Both read the archive only through the public gate.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO, Any

from . import jsoncodec
from .record import FIELDS

MANIFEST = ".cablegate-mirror.json"
CSV_LIST_SEPARATOR = "|"
# Record fields that are lists of strings (joined in CSV) or structured (JSON in CSV).
_STRUCTURED = {"paragraphs", "source"}


# --------------------------------------------------------------------------- records


def csv_row(record: dict) -> list[str]:
    row = []
    for name, kind in FIELDS.items():
        value = record.get(name)
        if value is None:
            row.append("")
        elif name in _STRUCTURED:
            row.append(jsoncodec.compact_text(value))
        elif kind == "list":
            row.append(CSV_LIST_SEPARATOR.join(str(v) for v in value))
        elif kind == "bool":
            row.append("true" if value else "false")
        else:
            row.append(str(value))
    return row


def export_records(archive: Any, out: IO[str], fmt: str = "jsonl") -> int:
    """Write every public record to ``out``; returns the number of cables."""
    from .record import to_json

    count = 0
    if fmt == "jsonl":
        for record in archive.iter_records():
            out.write(to_json(record) + "\n")
            count += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(FIELDS))
        for record in archive.iter_records():
            writer.writerow(csv_row(record))
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r} (jsonl or csv)")
    return count


# --------------------------------------------------------------------------- static mirror


def _digest(data: bytes) -> str:
    # sha256 runs on the CPU's SHA instructions (OpenSSL): 2.6x faster than
    # hashlib's blake2b here, on ~100 KB hashed per cable page. 128 bits kept.
    return hashlib.sha256(data).hexdigest()[:32]


class FileSink:
    """Writes files under ``root`` whose content differs from the previous run's
    manifest (``old``: relative path -> digest); one per process."""

    def __init__(self, root: Path, old: dict[str, str]) -> None:
        self.root = str(root)
        self.old = old
        self._dirs: set[str] = set()  # made already: one makedirs per directory, not per file
        self._tmp = f".{os.getpid()}.tmp"

    def put(self, path: str, content: str | bytes) -> tuple[str, str, bool]:
        """Write the file of URL path ``path``; (relative path, digest, written)."""
        data = content.encode() if isinstance(content, str) else content
        rel = path.lstrip("/")
        digest = _digest(data)
        target = os.path.join(self.root, rel)
        if self.old.get(rel) == digest and os.path.isfile(target):
            return rel, digest, False
        parent = os.path.dirname(target)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        if rel not in self.old and self._create(target, data):
            return rel, digest, True
        # A file a served mirror may be showing is replaced atomically (never half written).
        tmp = target + self._tmp
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
        return rel, digest, True

    @staticmethod
    def _create(target: str, data: bytes) -> bool:
        """Write a file that is not there yet in place; False when it is there.

        A new page has no earlier version to keep whole, and a write plus rename
        per file cost several times a plain create on ext4 (most of a first
        export's system time)."""
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        return True


class MirrorWriter:
    """Writes files under ``root`` only when their content changed, and keeps the
    manifest (relative path -> content digest) that makes re-exports incremental."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.old: dict[str, str] = self._read_manifest()
        self.new: dict[str, str] = {}
        self.written = 0
        self.unchanged = 0
        self.sink = FileSink(root, self.old)

    def _read_manifest(self) -> dict[str, str]:
        try:
            return json.loads((self.root / MANIFEST).read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def put(self, path: str, content: str | bytes) -> None:
        """``path`` is the URL path (``/cable/2007/05/X.html``)."""
        self.record(*self.sink.put(path, content))

    def record(self, rel: str, digest: str, wrote: bool) -> None:
        """Account for a file a worker process wrote (or found unchanged)."""
        self.new[rel] = digest
        if wrote:
            self.written += 1
        else:
            self.unchanged += 1

    def finish(self) -> int:
        """Remove files of pages that are gone; save the manifest. Returns removed count."""
        removed = 0
        for rel in set(self.old) - set(self.new):
            try:
                (self.root / rel).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        tmp = self.root / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.new, separators=(",", ":"), sort_keys=True))
        os.replace(tmp, self.root / MANIFEST)
        return removed


Written = list[tuple[str, str, bool]]  # (relative path, digest, written) of each file


def _page_files(sink: FileSink, page: Any) -> Written:
    done = [sink.put(page.path if page.path != "/" else "/index.html", page.html)]
    if page.json_path and "?" not in page.json_path:
        done.append(sink.put(page.json_path, jsoncodec.compact_bytes(page.data)))
    return done


def _fixed_pages(site: Any, sink: FileSink) -> Written:
    """Home, fixed pages, the value indexes, the site feed (the browse pages and
    their feeds are tasks of their own: ``_browse_tasks``)."""
    from .feeds import atom_feed
    from .web import url_builder as urls

    done = _page_files(sink, site.home_page())
    done += _page_files(sink, site.reasons_page())
    done += _page_files(sink, site.about_page())
    done.append(sink.put("/404.html", site.not_found_page().html))
    done.append(sink.put(urls.feed_path(), atom_feed(site.archive, base_url=site.base_url)))
    done.append(_site_comment_feed(site, sink))
    for kind in urls.BROWSE_KINDS:
        done += _page_files(sink, site.index_page(kind))
    return done


def _site_comment_feed(site: Any, sink: FileSink) -> Any:
    """The site-wide feed of the latest approved comments (as ``/comments.atom`` live)."""
    from . import discussion as disc
    from .web.discuss import comments_feed_path, site_comments_atom

    read = getattr(site.archive, "latest_comments", None)  # stubs may lack it
    items = read(disc.FEED_SIZE) if read is not None else []
    return sink.put(comments_feed_path(), site_comments_atom(items, site.base_url))


# Browse pages per task: a value with more pages is split (each part one read with
# OFFSET/LIMIT), so the biggest tags do not leave one process working alone at the end.
BROWSE_PAGES_PER_TASK = 200


# Work of a browse row (a cable listed on one browse page) against a cable page:
# measured 0.2 against 3 ms CPU. Only the schedule uses it (``_schedule``).
ROW_COST = 0.07


def _browse_tasks(site: Any) -> list[tuple[float, tuple]]:
    """(cost, ("browse", kind, value, first page, page count or None, with feed)) per
    part of every value's browse pages, biggest first."""
    from .web import url_builder as urls
    from .web.site import PAGE_SIZE

    tasks: list[tuple[float, tuple]] = []
    for kind in urls.BROWSE_KINDS:
        for value, count in site.facets(kind):
            pages = -(-count // PAGE_SIZE)
            feed = kind in urls.FEED_KINDS
            if pages <= BROWSE_PAGES_PER_TASK:
                tasks.append((count * ROW_COST, ("browse", kind, value, 0, None, feed)))
                continue
            for first in range(0, pages, BROWSE_PAGES_PER_TASK):
                part = ("browse", kind, value, first, BROWSE_PAGES_PER_TASK, feed and first == 0)
                rows = min(BROWSE_PAGES_PER_TASK * PAGE_SIZE, count - first * PAGE_SIZE)
                tasks.append((rows * ROW_COST, part))
    tasks.sort(key=lambda t: -t[0])
    return tasks


def _schedule(tasks: list[tuple[float, tuple]], lanes: int) -> list[tuple]:
    """The tasks in the order to hand them to ``lanes`` processes.

    Two processes creating files in one directory at once spend ten times the
    system time of two in different directories (ext4 directory lock; 1.0
    against 0.1 ms per cable page measured here). Cable tasks come in
    directory order, browse tasks write into five directories: so the list is
    cut into ``lanes`` stretches of equal cost and the stretches are merged by
    cost so far, so that processes taking tasks in turn work far apart.
    """
    if lanes <= 1 or len(tasks) <= 1:
        return [task for _, task in tasks]
    total = sum(cost for cost, _ in tasks) or 1.0
    stretch = total / lanes
    placed, start = [], 0.0
    for index, (cost, task) in enumerate(tasks):
        lane = min(int(start / stretch), lanes - 1)
        placed.append((start - lane * stretch, lane, index, task))
        start += cost
    placed.sort(key=lambda p: p[:3])
    return [task for *_, task in placed]


def _browse_files(
    site: Any, sink: FileSink, kind: str, value: str, first: int, count: int | None, feed: bool
) -> Written:
    from .feeds import atom_feed
    from .web import url_builder as urls

    done: Written = []
    for page in site.browse_pages(kind, value, first, count):
        done += _page_files(sink, page)
    if feed:
        done.append(sink.put(urls.feed_path(kind, value),
                             atom_feed(site.archive, kind=kind, value=value,
                                       base_url=site.base_url)))
    return done


def _cable_files(site: Any, sink: FileSink, refids: list[str]) -> Written:
    """The pages (HTML and JSON) of some cables, read with one batched gate read."""
    from .web.site import NotFound

    read_views = getattr(site.archive, "cable_views", None)  # stubs may lack it
    views = read_views(refids) if read_views is not None else None
    done: Written = []
    for refid in refids:
        if views is None:
            try:
                page = site.cable_page(refid)
            except NotFound:  # withdrawn meanwhile
                continue
        elif views.get(refid) is None:  # withdrawn meanwhile
            continue
        else:
            page = site.cable_page_from_view(views[refid])
        done.append(sink.put(page.path, page.html))
        done.append(sink.put(page.json_path, jsoncodec.compact_bytes(page.data)))
        if (page.data.get("discussion") or {}).get("comments_feed"):
            done.append(_comment_feed_file(site, sink, refid, views))
    return done


def _comment_feed_file(site: Any, sink: FileSink, refid: str, views: Any) -> Any:
    """The cable's comment feed, as the live site serves it (approved comments,
    redactions applied: from the same gate read as the page)."""
    from .web.discuss import cable_comments_atom, comments_feed_path

    found = views[refid]["discussion"] if views is not None else site.archive.discussion(refid)
    return sink.put(comments_feed_path(refid), cable_comments_atom(refid, found, site.base_url))


def _copy_static(writer: MirrorWriter) -> None:
    from .web.app import STATIC

    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            writer.put("/static/" + path.relative_to(STATIC).as_posix(), path.read_bytes())


def _run_task(site: Any, sink: FileSink, task: tuple) -> Written:
    if task[0] == "cables":
        return _cable_files(site, sink, task[1])
    if task[0] == "browse":
        return _browse_files(site, sink, *task[1:])
    raise ValueError(f"unknown export task {task[0]!r}")


class _CachedUrls:
    """The ``urls`` the templates call, with ``browse_path`` memoized: a browse page
    builds four links per row, the same few thousand again and again (a pure
    function of its arguments, so the pages are byte-for-byte the same)."""

    def __init__(self) -> None:
        from functools import lru_cache

        from .web import url_builder

        self._module = url_builder
        self.browse_path = lru_cache(maxsize=65536)(url_builder.browse_path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _mirror_site(archive: Any, base_url: str) -> Any:
    from .web.site import Site, make_environment

    env = make_environment()
    env.globals["urls"] = _CachedUrls()
    env.auto_reload = False  # templates do not change during an export: no stat per render
    # The counter (released / total) shows on the home page only, rendered first:
    # no re-count every 2 s per process (30 ms each on the full corpus).
    return Site(archive, base_url=base_url, static=True, env=env, counts_ttl=float("inf"))


# Worker processes: each opens its own engine and renders its share of the tasks.
_worker: dict[str, Any] = {}


def _init_worker(db_url: str, base_url: str, root: str) -> None:
    from .db import get_engine
    from .public import PublicArchive

    _worker["site"] = _mirror_site(PublicArchive(get_engine(db_url), None), base_url)
    _worker["sink"] = FileSink(Path(root), MirrorWriter(Path(root)).old)  # previous manifest
    # What is alive now (modules, templates, the previous manifest) lives as long as
    # the process: out of the collector's full passes, which otherwise walk it again
    # and again while pages are rendered.
    gc.freeze()


def _worker_task(task: tuple) -> Written:
    return _run_task(_worker["site"], _worker["sink"], task)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def public_refids(archive: Any, batch: int = 5000) -> list[str]:
    """Every released cable's reference ID, in order (through the gate)."""
    listed = getattr(archive, "public_ids", None)
    if listed is not None:
        return listed()
    refids: list[str] = []  # an archive without public_ids: through its browse lists
    for value, count in archive.facet_counts("classification"):
        for offset in range(0, count, batch):
            _, rows = archive.browse(
                "classification", value, sort="reference_id", offset=offset, limit=batch
            )
            refids.extend(row["reference_id"] for row in rows)
    return sorted(set(refids))


def export_site(
    directory: str | os.PathLike,
    *,
    db_url: str | None = None,
    archive: Any = None,
    base_url: str = "",
    workers: int = 2,
    chunk: int = 500,
    progress: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Write (or bring up to date) the static mirror in ``directory``.

    The work is a list of tasks (parts of browse values, biggest first, then
    ``chunk`` cables each, read in one batched gate read) run by ``workers``
    processes, each with its own connection; the parent only keeps the manifest.
    """
    from .db import get_engine
    from .public import PublicArchive

    started = time.monotonic()
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    if archive is None:
        archive = PublicArchive(get_engine(db_url), None)
    site = _mirror_site(archive, base_url)
    writer = MirrorWriter(root)
    _copy_static(writer)
    for done in _fixed_pages(site, writer.sink):
        writer.record(*done)
    browse = _browse_tasks(site)
    refids = public_refids(archive)  # in page directory order
    cable_tasks = [(float(len(part)), ("cables", part)) for part in _chunks(refids, chunk)]
    tasks = _schedule(browse + cable_tasks, workers)
    if progress:
        progress(f"  {len(browse)} browse tasks, {len(refids)} cables: {len(tasks)} tasks")
    if workers > 1 and len(tasks) > 1 and _has_url(archive):
        url = archive.engine.url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(
            workers, initializer=_init_worker, initargs=(url, base_url, str(root))
        ) as pool:
            for results in pool.map(_worker_task, tasks):
                for done in results:
                    writer.record(*done)
    else:
        for task in tasks:
            for done in _run_task(site, writer.sink, task):
                writer.record(*done)
    removed = writer.finish()
    return {
        "files": len(writer.new),
        "written": writer.written,
        "unchanged": writer.unchanged,
        "removed": removed,
        "cables": len(refids),
        "seconds": time.monotonic() - started,
    }


def _has_url(archive: Any) -> bool:
    engine = getattr(archive, "engine", None)
    return engine is not None and engine.url.database not in (None, "", ":memory:")


def clear_mirror(directory: str | os.PathLike) -> None:
    """Remove a mirror directory (tests, or starting over)."""
    shutil.rmtree(directory, ignore_errors=True)
