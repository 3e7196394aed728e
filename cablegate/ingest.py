"""Streaming, batched, crash-safe ingest: inputs -> parse -> store (+ search index).

Pipeline, so parsing, storing and indexing overlap on a small machine:

* ``--jobs`` parse worker *processes* (default: one per core, at most 4) walk
  the inputs; each reads and parses every other chunk of ``batch`` inputs
  (the others' inputs are only counted: a CSV row framed, a file sniffed),
  reduces the records with ``store.prepare`` (hashes, JSON) and sends one
  ``Batch`` per chunk through a bounded queue, so memory stays constant
  whatever the input size and the batches come back in input order;
* the main process writes each batch in one transaction (``store.write_batch``)
  and builds the changed cables' public documents (``PublicArchive``);
* an index writer process (``IndexWriterProcess``) adds them to the tantivy
  index, whose writer indexes on its own thread; it commits every three
  minutes together with the change-log seq it has reached, and at the end
  waits for any merges its last commit started (a 251,287-cable ingest into
  an empty index makes 6 segments and no merge: ``search.WRITER_HEAP``).

A kill at any moment leaves every committed batch whole and nothing of the
others; the index lags at worst, and the next ingest (or ``sync_index``)
catches it up from the change log. Re-running the same ingest is idempotent:
stored texts are recognised by their hashes. Every input ends stored,
unchanged or rejected (recorded in ``rejects``); a parser bug on one input
rejects that input, with the exception named.
"""

from __future__ import annotations

import ctypes
import json
import os
import queue as queue_mod
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, update

from . import db, store
from .indexer import apply_documents, commit, sync_index
from .public import PublicArchive
from .schema import ingest_runs

# Inputs per batch (one transaction): with 3 batches queued per queue, the
# batches in flight are most of the processes' own memory. 500 against 1,000,
# full cables.csv: 701 against 1,011 MiB, in the same time (docs/performance.md).
BATCH_ITEMS = 500
QUEUE_BATCHES = 3  # per queue: bounded memory, enough slack to overlap


@dataclass
class Batch:
    items: list[store.Prepared] = field(default_factory=list)
    errors: list[tuple[str | None, int | None, str]] = field(default_factory=list)
    done_bytes: int = 0  # estimated input bytes consumed so far (for the ETA)


@dataclass
class Summary:
    new: int = 0
    new_revision: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects: list[tuple[str | None, int | None, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.new + self.new_revision + self.unchanged + self.rejected

    def line(self) -> str:
        return (
            f"new {self.new}, new revision {self.new_revision}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


# --------------------------------------------------------------------------- input size


def input_bytes(paths: Sequence[str | os.PathLike]) -> int | None:
    """Total size of the input files (None when reading stdin): the ETA's denominator."""
    total = 0
    for path in paths:
        if str(path) == "-":
            return None
        p = Path(path)
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            for root, _dirs, files in os.walk(p):
                total += sum(_size(Path(root, f)) for f in files)
    return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _ByteMeter:
    """Estimates input bytes consumed from the records' source paths.

    A finished file counts its size; a file that holds many cables (a CSV)
    counts the text of its cables seen so far.
    """

    def __init__(self) -> None:
        self.finished = 0
        self.current: str | None = None
        self.current_size = 0
        self.current_text = 0

    def see(self, path: str | None, text_len: int) -> None:
        if path != self.current:
            self.finished += self.current_size
            self.current = path
            self.current_size = _size(Path(path)) if path else 0
            self.current_text = 0
        self.current_text += text_len

    @property
    def done(self) -> int:
        return self.finished + min(self.current_text, self.current_size)


# --------------------------------------------------------------------------- parse worker


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the ingest process dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _put(out: Any, item: Any, parent: int) -> None:
    while True:
        try:
            out.put(item, timeout=1.0)
            return
        except queue_mod.Full:
            if os.getppid() != parent:  # the ingest process is gone
                os._exit(1)


def parse_batches(paths: list[str], chunk: int, shard: int = 0, shards: int = 1):
    """This worker's share of the inputs in ``paths``, as ``Batch``es.

    Inputs are numbered in reading order and cut into chunks of ``chunk``;
    worker ``shard`` of ``shards`` parses chunks ``shard``, ``shard + shards``,
    ... , one batch per chunk, so the ingest process can put them back in
    input order. The readers hand the other workers' inputs over unparsed
    (``Skipped``: a CSV row is only framed, a file only sniffed), so each
    input is read in full by one worker only.
    """
    from .errors import ParseError
    from .formats import Skipped, read_inputs
    from .parse import record_from_raw

    meter = _ByteMeter()
    batch, current = Batch(), 0
    upcoming = [0]  # the number of the input the reader is about to yield

    def mine() -> bool:
        return (upcoming[0] // chunk) % shards == shard

    for number, raw in enumerate(read_inputs(paths, mine if shards > 1 else None)):
        upcoming[0] = number + 1
        if number // chunk != current:
            if current % shards == shard:
                batch.done_bytes = meter.done
                yield batch
                batch = Batch()
            current = number // chunk
        if isinstance(raw, Skipped):
            meter.see(raw.path, raw.size)
            continue
        if isinstance(raw, ParseError):
            meter.see(raw.path, 0)
            if current % shards == shard:
                batch.errors.append((raw.path, raw.row, raw.reason))
            continue
        path, row = raw.source.get("path"), raw.source.get("row")
        text_len = len(raw.header or "") + len(raw.body or "")
        meter.see(None if path is None else str(path), text_len)
        if current % shards != shard:
            continue
        try:
            batch.items.append(store.prepare(record_from_raw(raw)))
        except ParseError as err:
            batch.errors.append((err.path or path, err.row if err.path else row, err.reason))
        except (ValueError, RecursionError) as err:
            batch.errors.append((path, row, f"cannot store: {err}"))
        except Exception as err:  # a parser bug on one input must not stop the rest
            batch.errors.append((path, row, f"parser error: {type(err).__name__}: {err}"))
    if current % shards == shard:
        batch.done_bytes = meter.finished + meter.current_size  # all read
        yield batch


def parse_worker(
    paths: list[str], out: Any, parent: int, chunk: int, shard: int, shards: int
) -> None:
    """Worker process: send ``parse_batches`` to ``out``, then None (or a crash report)."""
    _die_with_parent()
    try:
        for batch in parse_batches(paths, chunk, shard, shards):
            _put(out, batch, parent)
        _put(out, None, parent)
    except BaseException:  # report, so the ingest fails loudly instead of hanging
        _put(out, ("crash", traceback.format_exc()), parent)


def default_jobs() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


def _batches(paths: list[str], batch_items: int, jobs: int):
    """Batches in input order from ``jobs`` parse worker processes (spawned, so
    they inherit no database connections). Standard input (``-``) is parsed in
    this process: a worker cannot read it."""
    import multiprocessing as mp

    if "-" in paths:
        yield from parse_batches(paths, batch_items)
        return

    ctx = mp.get_context("spawn")
    queues = [ctx.Queue(maxsize=QUEUE_BATCHES) for _ in range(jobs)]
    workers = [
        ctx.Process(target=parse_worker, daemon=True,
                    args=(paths, queues[k], os.getpid(), batch_items, k, jobs))
        for k in range(jobs)
    ]
    for worker in workers:
        worker.start()
    try:
        number = 0
        while True:
            k = number % jobs
            try:
                item = queues[k].get(timeout=5.0)
            except queue_mod.Empty:
                if not workers[k].is_alive():
                    raise RuntimeError(
                        f"a parse worker died (exit code {workers[k].exitcode})"
                    ) from None
                continue
            if item is None:
                break
            if isinstance(item, tuple):
                raise RuntimeError("the parser failed:\n" + item[1])
            yield item
            number += 1
        for worker in workers:
            worker.join(timeout=30)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)


# --------------------------------------------------------------------------- index feeding


def index_writer(path: str, inbox: Any, outbox: Any, parent: int) -> None:
    """Index writer process: apply ("upsert", docs) / ("delete", ids) /
    ("commit", seq) messages to the index at ``path`` until ("close",)."""
    _die_with_parent()
    from .indexer import open_index

    try:
        index = open_index(path)
        while True:
            try:
                message = inbox.get(timeout=1.0)
            except queue_mod.Empty:
                if os.getppid() != parent:
                    os._exit(1)
                continue
            kind = message[0]
            if kind == "upsert":
                index.upsert(message[1])
            elif kind == "delete":
                index.delete(message[1])
            elif kind == "commit":
                index.commit(last_seq=message[1])
            elif kind == "close":
                index.close()
                outbox.put(("closed", index.last_seq))
                return
    except BaseException:
        outbox.put(("crash", traceback.format_exc()))


class IndexWriterProcess:
    """The search index's writer in its own process, so building and adding
    documents (CPU-bound Python) overlaps with parsing and storing. Same
    upsert/delete/commit calls as ``SearchIndex``; messages are applied in order."""

    def __init__(self, path: str | os.PathLike) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.inbox = ctx.Queue(maxsize=QUEUE_BATCHES)
        self.outbox = ctx.Queue()
        self.process = ctx.Process(target=index_writer, daemon=True,
                                   args=(str(path), self.inbox, self.outbox, os.getpid()))
        self.process.start()

    def _send(self, message: tuple) -> None:
        while True:
            self._check()
            try:
                self.inbox.put(message, timeout=1.0)
                return
            except queue_mod.Full:
                continue

    def _check(self) -> None:
        try:
            kind, detail = self.outbox.get_nowait()
        except queue_mod.Empty:
            if not self.process.is_alive():
                raise RuntimeError(
                    f"the index writer died (exit code {self.process.exitcode})"
                ) from None
            return
        raise RuntimeError(f"the index writer failed:\n{detail}")

    def upsert(self, docs: list[dict]) -> None:
        self._send(("upsert", docs))

    def delete(self, refids: list[str]) -> None:
        self._send(("delete", refids))

    def commit(self, last_seq: int) -> None:
        self._send(("commit", last_seq))

    def close(self) -> None:
        """Apply everything sent, release the writer, wait for the process to end."""
        self._send(("close",))
        while True:
            try:
                kind, detail = self.outbox.get(timeout=5.0)
                break
            except queue_mod.Empty:
                if not self.process.is_alive():
                    raise RuntimeError("the index writer died while closing") from None
        self.process.join(timeout=60)
        if kind != "closed":
            raise RuntimeError(f"the index writer failed:\n{detail}")

    def terminate(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


class IndexFeeder:
    """Keeps a search index in step with the batches ingest writes.

    The public documents of cables a batch changed are built from the texts in
    hand (through ``PublicArchive``, with release time and redactions), not
    read back; any change-log rows written by someone else in between are
    applied by reading them through the gate. With ``background`` the
    documents go to an ``IndexWriterProcess``; this process keeps the index
    object only for the catch-up sync before and the final sync after.
    """

    def __init__(
        self, engine: Engine, index: Any, commit_every: float = 180.0, background: bool = False
    ) -> None:
        self.engine = engine
        self.index = index
        self.archive = PublicArchive(engine, None)
        self.commit_every = commit_every
        sync_index(engine, index)  # catch up first (e.g. after a killed ingest)
        self.started = db.utcnow()
        self.applied = int(index.last_seq or 0)
        self.committed_at = time.monotonic()
        self.sink: Any = index
        if background:
            index.close()  # one writer per index: hand it to the writer process
            self.sink = IndexWriterProcess(index.path)

    def feed(self, result: store.BatchResult) -> None:
        if result.seq_to == result.seq_from:
            return
        if result.seq_from != self.applied:
            self._catch_up(result.seq_to)
        else:
            self._apply_batch(result)
        self.applied = result.seq_to
        if time.monotonic() - self.committed_at >= self.commit_every:
            self.commit()

    def _apply_batch(self, result: store.BatchResult) -> None:
        now = self.archive.now()
        with self.engine.connect() as conn:
            spans = store.active_redactions(conn, list(result.changed))
        docs: dict[str, dict | None] = {}
        for refid, item in result.changed.items():
            release_at = result.release_at[refid]
            docs[refid] = (
                self.archive.document_from_prepared(item, release_at, spans.get(refid, []))
                if release_at <= now
                else None
            )
        if result.release_changed:
            docs.update(self.archive.public_documents(result.release_changed))
        apply_documents(self.sink, docs)

    def _catch_up(self, upto: int) -> None:
        from sqlalchemy import select

        from .indexer import INDEXED_KINDS
        from .schema import changes

        with self.engine.connect() as conn:
            refids = list(
                dict.fromkeys(
                    conn.execute(
                        select(changes.c.reference_id)
                        .where(changes.c.seq > self.applied, changes.c.seq <= upto,
                               changes.c.kind.in_(INDEXED_KINDS))
                        .order_by(changes.c.seq)
                    ).scalars()
                )
            )
        for i in range(0, len(refids), 500):
            apply_documents(self.sink, self.archive.public_documents(refids[i : i + 500]))

    def commit(self) -> None:
        commit(self.sink, self.applied)
        self.committed_at = time.monotonic()

    def close(self) -> None:
        self.commit()
        if self.sink is not self.index:
            self.sink.close()
            self.sink = self.index
        # Anything that happened meanwhile, and releases that came due.
        sync_index(self.engine, self.index, fed_since=self.started)

    def abort(self) -> None:
        """Stop a background writer without committing (the ingest failed)."""
        if self.sink is not self.index:
            self.sink.terminate()


# --------------------------------------------------------------------------- the run


def _start_run(engine: Engine, paths: Sequence[str]) -> int:
    with db.writing(engine) as conn:
        return int(
            conn.execute(
                insert(ingest_runs).values(
                    started_at=db.utcnow(), paths=json.dumps([str(p) for p in paths]),
                    new=0, new_revision=0, unchanged=0, rejected=0, completed=False,
                )
            ).inserted_primary_key[0]
        )


def _finish_run(engine: Engine, run_id: int, summary: Summary, completed: bool) -> None:
    with db.writing(engine) as conn:
        conn.execute(
            update(ingest_runs).where(ingest_runs.c.id == run_id).values(
                finished_at=db.utcnow(), new=summary.new, new_revision=summary.new_revision,
                unchanged=summary.unchanged, rejected=summary.rejected, completed=completed,
            )
        )


ProgressFn = Callable[[int, int], None]  # (cables done, input bytes done)


def ingest(
    paths: Sequence[str | os.PathLike],
    engine: Engine,
    *,
    index: Any = None,
    progress: ProgressFn | None = None,
    batch_items: int | None = None,
    jobs: int | None = None,
    now: Callable[[], datetime] = db.utcnow,
) -> Summary:
    """Ingest every cable in ``paths`` into the archive (and ``index``, if given)."""
    started = time.monotonic()
    paths = [str(p) for p in paths]
    summary = Summary()
    feeder = IndexFeeder(engine, index, background=True) if index is not None else None
    run_id = _start_run(engine, paths)
    completed = False
    try:
        for batch in _batches(paths, batch_items or BATCH_ITEMS, jobs or default_jobs()):
            with db.writing(engine) as conn:
                db.tune_for_bulk_writes(conn)
                result = store.write_batch(conn, batch.items, batch.errors, now=now(),
                                           run_id=run_id)
            if feeder is not None:
                feeder.feed(result)
            summary.new += result.new
            summary.new_revision += result.new_revision
            summary.unchanged += result.unchanged
            summary.rejected += result.rejected
            summary.rejects.extend(batch.errors[: max(0, 1000 - len(summary.rejects))])
            if progress is not None:
                progress(summary.total, batch.done_bytes)
        if feeder is not None:
            feeder.close()
        completed = True
    finally:
        if feeder is not None and not completed:
            feeder.abort()
        summary.seconds = time.monotonic() - started
        _finish_run(engine, run_id, summary, completed)
    return summary


# --------------------------------------------------------------------------- progress display


class PlainProgress:
    """Periodic one-line reports for logs (stderr is not a terminal)."""

    def __init__(self, total_bytes: int | None, every: float = 10.0, out=sys.stderr) -> None:
        self.total_bytes = total_bytes
        self.every = every
        self.out = out
        self.started = time.monotonic()
        self.last = self.started

    def __call__(self, cables: int, done_bytes: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        line = f"ingest: {cables:,} cables, {cables / max(elapsed, 1e-9):,.0f} cables/s"
        if self.total_bytes:
            share = min(done_bytes / self.total_bytes, 1.0)
            line += f", {share:.0%} of input"
            if share > 0:
                line += f", ETA {_duration(elapsed / share - elapsed)}"
        print(line, file=self.out, flush=True)

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class RichProgress:
    """A progress bar on a terminal: cables, cables/s, share of input, ETA."""

    def __init__(self, total_bytes: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.started = time.monotonic()
        self.progress = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[cables]:>9,} cables"),
            TextColumn("{task.fields[rate]:>7,.0f} cables/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task("ingest", total=total_bytes, cables=0, rate=0.0)
        self.progress.start()

    def __call__(self, cables: int, done_bytes: int) -> None:
        rate = cables / max(time.monotonic() - self.started, 1e-9)
        self.progress.update(self.task, completed=done_bytes, cables=cables, rate=rate)

    def close(self) -> None:
        self.progress.stop()


def progress_display(total_bytes: int | None, quiet: bool = False):
    if quiet:
        return None
    if sys.stderr.isatty():
        return RichProgress(total_bytes)
    return PlainProgress(total_bytes)
