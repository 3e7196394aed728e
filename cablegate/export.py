"""Exports of the public archive: bulk records and the static mirror.

* ``export_records``: every released cable's public record as JSON Lines (the
  ``cablegate parse`` format) or CSV (one row per cable, lists joined by
  ``|``), streamed from ``PublicArchive.iter_records``.
* ``export_site``: the whole public site as static files at the same URLs as
  the live site (``cable/2007/05/07MOSCOW2205.html`` and its ``.json`` twin,
  browse pages, value indexes, Atom feeds, the stylesheet), so any static web
  server can host a mirror. Incremental: a manifest of content hashes tells
  which files changed; only those are rewritten (atomically), and files of
  pages that no longer exist are removed. Cable pages are rendered by worker
  processes, each with its own database connection.

Both read the archive only through the public gate.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO, Any

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
            row.append(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
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
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class MirrorWriter:
    """Writes files under ``root`` only when their content changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.old: dict[str, str] = self._read_manifest()
        self.new: dict[str, str] = {}
        self.written = 0
        self.unchanged = 0

    def _read_manifest(self) -> dict[str, str]:
        try:
            return json.loads((self.root / MANIFEST).read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def put(self, path: str, content: str | bytes) -> None:
        """``path`` is the URL path (``/cable/2007/05/X.html``)."""
        data = content.encode() if isinstance(content, str) else content
        rel = path.lstrip("/")
        digest = _digest(data)
        self.new[rel] = digest
        target = self.root / rel
        if self.old.get(rel) == digest and target.is_file():
            self.unchanged += 1
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        self.written += 1

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


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _put_page(writer: MirrorWriter, page: Any) -> None:
    writer.put(page.path if page.path != "/" else "/index.html", page.html)
    if page.json_path and "?" not in page.json_path:
        writer.put(page.json_path, _json_text(page.data))


def _site_pages(site: Any, writer: MirrorWriter, progress: Callable[[str], Any] | None) -> None:
    """Everything but the cable pages: home, fixed pages, indexes, browse pages, feeds."""
    from .feeds import atom_feed
    from .web import url_builder as urls
    archive = site.archive
    _put_page(writer, site.home_page())
    _put_page(writer, site.reasons_page())
    _put_page(writer, site.about_page())
    writer.put("/404.html", site.not_found_page().html)
    writer.put(urls.feed_path(), atom_feed(archive, base_url=site.base_url))
    for kind in urls.BROWSE_KINDS:
        _put_page(writer, site.index_page(kind))
        values = archive.facet_counts(kind)
        for value, _count in values:
            for page in site.browse_pages(kind, value):  # one read per value, not per page
                _put_page(writer, page)
            if kind in urls.FEED_KINDS:
                writer.put(
                    urls.feed_path(kind, value),
                    atom_feed(archive, kind=kind, value=value, base_url=site.base_url),
                )
        if progress:
            progress(f"  {kind}: {len(values)} values")


def _copy_static(writer: MirrorWriter) -> None:
    from .web.app import STATIC

    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            writer.put("/static/" + path.relative_to(STATIC).as_posix(), path.read_bytes())


# Worker processes: each opens its own engine and renders a share of the cables.
_worker: dict[str, Any] = {}


def _init_worker(db_url: str, base_url: str, root: str) -> None:
    from .db import get_engine
    from .public import PublicArchive
    from .web.site import Site

    _worker["site"] = Site(PublicArchive(get_engine(db_url), None), base_url=base_url, static=True)
    _worker["root"] = Path(root)
    _worker["old"] = MirrorWriter(Path(root)).old  # the previous run's manifest


def _render_cables(refids: list[str]) -> list[tuple[str, str, bool]]:
    """Render and write the pages of some cables; (relative path, digest, written) each."""
    return _write_cables(_worker["site"], _worker["root"], refids, _worker["old"])


def _write_cables(
    site: Any, root: Path, refids: Iterable[str], old: dict[str, str]
) -> list[tuple[str, str, bool]]:
    from .web.site import NotFound

    done: list[tuple[str, str, bool]] = []
    for refid in refids:
        try:
            page = site.cable_page(refid)
        except NotFound:  # withdrawn meanwhile
            continue
        for path, content in ((page.path, page.html), (page.json_path, _json_text(page.data))):
            data = content.encode()
            rel = path.lstrip("/")
            digest = _digest(data)
            target = root / rel
            wrote = False
            if old.get(rel) != digest or not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, target)
                wrote = True
            done.append((rel, digest, wrote))
    return done


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def public_refids(archive: Any, batch: int = 5000) -> list[str]:
    """Every released cable's reference ID (through the gate's browse lists)."""
    refids: list[str] = []
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
    """Write (or bring up to date) the static mirror in ``directory``."""
    from .db import get_engine
    from .public import PublicArchive
    from .web.site import Site

    started = time.monotonic()
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    if archive is None:
        archive = PublicArchive(get_engine(db_url), None)
    site = Site(archive, base_url=base_url, static=True)
    writer = MirrorWriter(root)
    _copy_static(writer)
    _site_pages(site, writer, progress)
    refids = public_refids(archive)
    if progress:
        progress(f"  cables: {len(refids)} to render")
    if workers > 1 and len(refids) >= 2 * chunk and _has_url(archive):
        url = archive.engine.url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(
            workers, initializer=_init_worker, initargs=(url, base_url, str(root))
        ) as pool:
            for results in pool.map(_render_cables, _chunks(refids, chunk)):
                for rel, digest, wrote in results:
                    writer.record(rel, digest, wrote)
    else:
        for rel, digest, wrote in _write_cables(site, root, refids, writer.old):
            writer.record(rel, digest, wrote)
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
