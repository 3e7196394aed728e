"""A per-process cache of rendered cable pages, kept exact by the change log.

A cable page depends on the cable's public record and on the cables it cites
and is cited by (their existence, subjects and dates), and its sidebar shows
the release counter. So an entry is dropped when:

* the change log (``PublicArchive.changes_since``) names the cable, a cable it
  shows (``Page.depends``), or a cable that now cites it; the log is read on
  every lookup (one indexed query), so a redaction or an un-release is never
  served stale, not even for a moment;
* the release counter changes (new releases by time or by ingest): checked at
  most every ``count_interval`` seconds, and then the whole cache is dropped.

Not-found answers are never cached (an embargoed cable must appear the moment
it is released).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import jsoncodec


@dataclass
class CachedPage:
    path: str
    json_path: str
    html_bytes: bytes
    json_bytes: bytes
    depends: frozenset[str]
    cites: frozenset[str]

    @property
    def size(self) -> int:
        return len(self.html_bytes) + len(self.json_bytes) + 200


def cached_from_page(page: Any) -> CachedPage:
    data = page.data
    return CachedPage(
        path=page.path,
        json_path=page.json_path or page.path,
        html_bytes=page.html.encode(),
        json_bytes=jsoncodec.compact_bytes(data),
        depends=frozenset(page.depends),
        cites=frozenset(data.get("references") or []),
    )


class PageCache:
    """LRU of rendered cable pages bounded by ``max_bytes``."""

    def __init__(
        self,
        archive: Any,
        *,
        max_bytes: int = 256 << 20,
        count_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.archive = archive
        self.max_bytes = max_bytes
        self.count_interval = count_interval
        self._clock = clock
        self._entries: OrderedDict[str, CachedPage] = OrderedDict()
        self._dependents: dict[str, set[str]] = {}
        self._bytes = 0
        self._generation = 0  # bumped by every invalidation: a render that raced one is not kept
        self._lock = threading.RLock()
        self._seq = self._head_seq()
        self._counts = self._read_counts()
        self._counts_at = clock()
        self.hits = self.misses = 0

    # -- freshness

    def _head_seq(self) -> int:
        head, _ = self.archive.changes_since(None)
        return head

    def _read_counts(self) -> tuple[int, int]:
        return self.archive.released_count(), self.archive.total_count()

    def refresh(self) -> None:
        """Drop what the change log and the release counter say is stale."""
        head, changed = self.archive.changes_since(self._seq)
        if changed is None:  # too many changes to list: start over
            self.clear()
        elif changed:
            self.invalidate(changed)
        self._seq = head
        now = self._clock()
        if now - self._counts_at >= self.count_interval:
            counts = self._read_counts()
            self._counts_at = now
            if counts != self._counts:
                self._counts = counts
                self.clear()

    def invalidate(self, refids: list[str]) -> None:
        with self._lock:
            self._generation += 1
            for refid in refids:
                self._drop(refid)
                for dependent in list(self._dependents.get(refid, ())):
                    self._drop(dependent)
            # A cable that now cites X changes X's "cited by": the new text's
            # references are only known after re-reading it.
            for refid in refids:
                record = self.archive.get_cable(refid)
                for target in (record or {}).get("references") or []:
                    self._drop(target)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._dependents.clear()
            self._bytes = 0

    # -- entries

    def _drop(self, refid: str) -> None:
        entry = self._entries.pop(refid, None)
        if entry is None:
            return
        self._bytes -= entry.size
        for target in entry.depends:
            users = self._dependents.get(target)
            if users is not None:
                users.discard(refid)
                if not users:
                    del self._dependents[target]

    def _store(self, refid: str, entry: CachedPage, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # the archive changed while this page was rendered
            self._drop(refid)
            self._entries[refid] = entry
            self._bytes += entry.size
            for target in entry.depends:
                self._dependents.setdefault(target, set()).add(refid)
            while self._bytes > self.max_bytes and self._entries:
                oldest = next(iter(self._entries))
                self._drop(oldest)

    def get(self, refid: str, render: Callable[[str], Any]) -> CachedPage:
        """The cached page of ``refid``, rendering it on a miss (``render`` may raise)."""
        self.refresh()
        with self._lock:
            generation = self._generation
            entry = self._entries.get(refid)
            if entry is not None:
                self._entries.move_to_end(refid)
                self.hits += 1
                return entry
        self.misses += 1
        entry = cached_from_page(render(refid))
        self._store(refid, entry, generation)
        return entry
