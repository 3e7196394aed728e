"""Search latency over a fixed mix of 50 queries (words, phrases, boolean, prefixes,
filters, IDs, sorts, deep pages), every one with snippets and facet counts.

    python bench/search.py --index DIR                  # an existing index
    python bench/search.py --db URL [--index DIR]       # the index of that database
    python bench/search.py --build CORPUS.csv --index DIR [--threads 2] [--heap-mb 256]
                                                        # build an index from a corpus, then measure
    python bench/search.py --index DIR --compare REV [--rounds 6]
                                                        # working tree vs. a git revision
    python bench/search.py --index DIR --against DIR2 [--rounds 6]
                                                        # two indexes of the same cables

``--build`` reads a cables.csv-format corpus (bench/make_corpus.py) straight
into a new index, without the parser or a database, to time indexing alone:
subject and TAGS come from the body's SUBJECT:/TAGS: lines, release times are
spread over 2010-11-28 .. 2011-09-01. Each query runs once to warm up, then
``--rounds`` times; the figures are p50/p95/max over all timed runs (in this
process, one query at a time), both wall-clock and CPU time of this process.
The machine has 2 cores shared with other work: the load average is printed;
record it with the figures (docs/performance.md).

``--compare REV`` runs the search code of a git revision (``git archive``,
imported as ``cablegate_base``, as ``bench/parse.py compare`` does) and the
working tree's on the same index, every query by both in random order, round
after round: the way to see a gain smaller than the machine's speed swings.
``--against DIR2`` does the same with one code and two indexes of the same
cables (built with different writer settings, say).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cablegate.search import SearchIndex  # noqa: E402

# (category, query, options): 50 queries.
MIX: list[tuple[str, str, dict]] = [
    ("word", "government", {}),
    ("word", "minister", {}),
    ("word", "nuclear", {}),
    ("word", "election", {}),
    ("word", "corruption", {}),
    ("word", "oil", {}),
    ("word", "president", {}),
    ("word", "terrorism", {}),
    ("word", "refugees", {}),
    ("word", "zimbabwe", {}),
    ("word", "the", {}),
    ("word", "smuggling", {}),
    ("phrase", '"foreign minister"', {}),
    ("phrase", '"prime minister"', {}),
    ("phrase", '"human rights"', {}),
    ("phrase", '"united nations"', {}),
    ("phrase", '"security council"', {}),
    ("phrase", '"nuclear weapons"', {}),
    ("phrase", '"european union"', {}),
    ("phrase", '"press freedom"', {}),
    ("boolean", "iran nuclear", {}),
    ("boolean", "iran OR iraq", {}),
    ("boolean", "nuclear -iran", {}),
    ("boolean", "(russia OR china) energy", {}),
    ("boolean", "election fraud", {}),
    ("boolean", '"foreign minister" iran', {}),
    ("boolean", "corruption NOT police", {}),
    ("boolean", "(oil OR gas) pipeline", {}),
    ("boolean", "terrorism AND (pakistan OR afghanistan)", {}),
    ("prefix", "minist*", {}),
    ("prefix", "corrupt*", {}),
    ("prefix", "elect* fraud", {}),
    ("prefix", '"prime minis*"', {}),
    ("filter", "origin:moscow", {}),
    ("filter", "tag:PREL", {}),
    ("filter", "classification:secret", {}),
    ("filter", "iran from:2008-01-01 to:2008-12-31", {}),
    ("filter", "tag:KNNP nuclear", {}),
    ("filter", "minister classification:confidential", {}),
    ("filter", "released:2011-01", {}),
    ("filter", "government -tag:PGOV", {}),
    ("filter", "subject:iran", {}),
    ("filter", "classification:secret* tag:PTER", {}),
    ("filter", "election from:2009 to:2009-06", {}),
    ("sorted", "iran", {"sort": "-created"}),
    ("sorted", "nuclear", {"sort": "created"}),
    ("deep", "government", {"offset": 10_000}),
    ("deep", "minister", {"sort": "-created", "offset": 5_000}),
    # Reference-ID queries: IDs picked from the index at start (see id_queries).
    ("id", "{newest}", {}),
    ("id", "{newest_lower}", {}),
]
assert len(MIX) == 50


# --------------------------------------------------------------------------- building


def _csv_time(text: str) -> str | None:
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y %H:%M").isoformat()
    except ValueError:
        return None


_SUBJECT = re.compile(r"^SUBJECT:\s*(.+)$", re.MULTILINE)
_TAGS = re.compile(r"^TAGS:\s*(.+)$", re.MULTILINE)
_FIRST_RELEASE = datetime(2010, 11, 28, 12, 0)


def corpus_documents(path: Path, limit: int | None):
    """Index documents straight from a cables.csv-format file (no parser, no database)."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, escapechar="\\", doublequote=False)
        for number, row in enumerate(rows):
            if limit is not None and number >= limit:
                return
            _rowid, created, refid, origin, classification, refs, header, body = row[:8]
            head = body[:3000]
            subject = _SUBJECT.search(head)
            tags = _TAGS.search(head)
            yield {
                "reference_id": refid,
                "subject": subject.group(1).strip() if subject else None,
                "created": _csv_time(created),
                "release_at": (_FIRST_RELEASE + timedelta(days=number % 277)).isoformat(),
                "origin": origin,
                "origin_code": "".join(c for c in refid[2:] if c.isalpha()),
                "classification": classification,
                "tags": [t for t in re.split(r"[\s,]+", tags.group(1)) if t] if tags else [],
                "references": [r for r in refs.split("|") if r],
                "header": header,
                "body": body,
            }


class AnonPeak:
    """Peak anonymous memory (RssAnon) of this process, sampled every 0.2 s.

    ru_maxrss also counts the index files tantivy maps into memory while
    merging (page cache the kernel can drop); RssAnon is the heap."""

    def __init__(self) -> None:
        import threading

        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("RssAnon:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


def build(corpus: Path, index_dir: Path, threads: int, heap_mb: int, limit: int | None) -> None:
    if SearchIndex.exists(index_dir) or (index_dir.exists() and any(index_dir.iterdir())):
        raise SystemExit(f"{index_dir} exists: give a new directory to build into")
    index = SearchIndex(index_dir, writer_heap=heap_mb * 1_000_000, writer_threads=threads)
    anon = AnonPeak()
    started, cpu_started = time.perf_counter(), time.process_time()
    count = 0
    batch: list[dict] = []
    for doc in corpus_documents(corpus, limit):
        batch.append(doc)
        if len(batch) == 1000:
            index.upsert(batch)
            count += len(batch)
            batch = []
            if count % 50_000 == 0:
                print(f"  {count:,} documents, {time.perf_counter() - started:.0f} s", flush=True)
    index.upsert(batch)
    count += len(batch)
    fed = time.perf_counter() - started
    index.commit(last_seq=0)
    committed = time.perf_counter() - started
    index.close()  # waits for merges
    merged = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    size = sum(p.stat().st_size for p in index_dir.iterdir() if p.is_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_anon = anon.stop()
    print(f"built {index_dir}: {count:,} documents from {corpus.name}")
    print(
        f"  fed {fed:.1f} s, committed {committed:.1f} s ({count / committed:,.0f} docs/s), "
        f"merges done {merged:.1f} s; {threads} writer threads, heap {heap_mb} MB"
    )
    print(f"  CPU time {cpu:.0f} s (all threads); load average {os.getloadavg()[0]:.2f}")
    print(
        f"  index size {size / 1e9:.2f} GB, peak RSS {peak:,.0f} MB "
        f"(of which anonymous memory {peak_anon:,.0f} MB)"
    )


# --------------------------------------------------------------------------- measuring


def id_queries(index: SearchIndex) -> dict[str, str]:
    newest = index.search("", sort="-created", limit=1, facets=False).results[0].reference_id
    return {"newest": newest, "newest_lower": newest.lower()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(index: SearchIndex, rounds: int, facets: bool) -> dict[str, list[tuple[float, float]]]:
    """Per category: (wall ms, CPU ms) of each timed search. tantivy searches on
    the calling thread, so this process's CPU time is the work one search
    costs, whatever else the shared machine is doing; wall time includes
    waiting for a core."""
    ids = id_queries(index)
    timings: dict[str, list[tuple[float, float]]] = {}
    for category, query, options in MIX:
        text = query.format(**ids)
        index.search(text, facets=facets, **options)  # warm-up
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            result = index.search(text, facets=facets, **options)
            spent = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
            timings.setdefault(category, []).append(spent)
        if result.total == 0 and category != "word":
            # e.g. released:2011-01 on an ingest-built index, whose release times
            # come from the database rather than the spread --build gives them
            print(f"  note: no hits for {text!r} in this index")
    return timings


def _summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):6.1f} ms  p95 {percentile(values, 0.95):6.1f} ms"


def report(timings: dict[str, list[tuple[float, float]]], label: str) -> None:
    every = [t for values in timings.values() for t in values]
    walls, cpus = [w for w, _ in every], [c for _, c in every]
    print(f"{label}: {len(every)} searches")
    print(
        f"  all      wall {_summary(walls)}  max {max(walls):6.1f} ms | "
        f"CPU {_summary(cpus)}  max {max(cpus):6.1f} ms"
    )
    for category, values in timings.items():
        print(
            f"  {category:<8} wall {_summary([w for w, _ in values])} | "
            f"CPU {_summary([c for _, c in values])}  (n={len(values)})"
        )


def totals(index: SearchIndex) -> None:
    ids = id_queries(index)
    print("result totals (sanity):")
    for category, query, options in MIX:
        text = query.format(**ids)
        result = index.search(text, limit=1, facets=False, **options)
        print(f"  {category:<8} {result.total:>8,}  {text}")


def compare(path: Path, revision: str, rounds: int) -> None:
    """Each query by the revision's code and the working tree's, in random order."""
    import importlib
    import tempfile

    from parse import load_base_package  # bench/parse.py

    with tempfile.TemporaryDirectory() as tmp:
        load_base_package(revision, Path(tmp))
        base = importlib.import_module("cablegate_base.search").SearchIndex(path)
        alternate([(revision, base), ("working tree", SearchIndex(path))], rounds)


def against(path: Path, other: Path, rounds: int) -> None:
    """Each query on two indexes of the same cables (say, built with different
    settings), in random order: their difference, whatever the machine's load."""
    alternate([(str(path), SearchIndex(path)), (str(other), SearchIndex(other))], rounds)


def alternate(indexes: list[tuple[str, Any]], rounds: int) -> None:
    """Every query of the mix on each of ``indexes`` in turn, in random order,
    round after round (one warm-up run before each timed one)."""
    import random

    ids = id_queries(indexes[-1][1])
    timings: dict[str, dict[str, list]] = {label: {} for label, _index in indexes}
    order = random.Random(0)
    for _ in range(rounds):
        for category, query, options in MIX:
            text = query.format(**ids)
            runs = list(indexes)
            order.shuffle(runs)
            for label, index in runs:
                index.search(text, **options)  # warm-up
                wall, cpu = time.perf_counter(), time.process_time()
                index.search(text, **options)
                spent = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
                timings[label].setdefault(category, []).append(spent)
    for label, measured in timings.items():
        report(measured, f"{label}, with snippets + facets + histogram")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", help="index directory")
    parser.add_argument("--db", help="database URL (its index: beside a SQLite file, ...)")
    parser.add_argument(
        "--build", metavar="CORPUS.csv", help="build --index from this corpus first"
    )
    parser.add_argument("--limit", type=int, help="with --build: only the first N cables")
    parser.add_argument("--threads", type=int, default=2, help="with --build: writer threads")
    parser.add_argument("--heap-mb", type=int, default=256, help="with --build: writer heap")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--totals", action="store_true", help="print each query's total")
    parser.add_argument("--compare", metavar="REV", help="compare with this git revision's code")
    parser.add_argument("--against", metavar="DIR",
                        help="compare with another index of the same cables")
    args = parser.parse_args()

    if args.build:
        if not args.index:
            parser.error("--build needs --index DIR (a new directory)")
        build(Path(args.build), Path(args.index), args.threads, args.heap_mb, args.limit)
    if args.index:
        path = Path(args.index)
    else:
        from cablegate.db import index_path

        path = index_path(args.db or os.environ.get("CABLEGATE_DB"), None)
    if not SearchIndex.exists(path):
        raise SystemExit(f"no search index at {path}")
    index = SearchIndex(path)
    print(f"index {path}: {index.num_docs:,} documents; load average {os.getloadavg()[0]:.2f}")
    if args.totals:
        totals(index)
    if args.compare or args.against:
        if args.compare:
            compare(path, args.compare, args.rounds)
        else:
            against(path, Path(args.against), args.rounds)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return
    report(measure(index, args.rounds, facets=True), "with snippets + facets + histogram")
    report(measure(index, args.rounds, facets=False), "with snippets, no facets")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
