"""Time a full ingest (parse + store + index) and measure its peak memory.

    python bench/ingest.py CORPUS.csv [--db URL | --postgres] [--index DIR] [--jobs N]
                                      [--batch N] [--keep] [--memory-limit BYTES]
    python bench/ingest.py CORPUS.csv --stages N     # CPU per stage, first N cables, one process
    CABLEGATE_BENCH_INSTALLED=1 PYTHONPATH=/tmp/cablegate-compiled python3 bench/ingest.py \
        CORPUS.csv --stages N                        # the same, with the compiled parser (setup.py)

Runs ``cablegate ingest`` as a child process on a fresh database (a new SQLite
file under bench/out/ by default; ``--postgres`` starts a throwaway PostgreSQL
server like the tests do, or pass --db with an empty database) and prints wall
time, cables/s, database size and peak RSS: both the sum over the ingest
process and its parse workers (sampled from /proc every 0.5 s) and the largest
single process (getrusage). Write the figures into docs/performance.md.

``--memory-limit`` runs the ingest in a memory cgroup (v1 or v2; needs root)
with that hard limit on everything it is charged for: its processes' own
memory, the file pages they map (tantivy's segment files while merging) and
the page cache of what they write. Without swap, going over it means the
kernel reclaims file pages or kills the job: a run that finishes fits in it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, all its threads (tantivy's too)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int, field: str = "VmRSS:") -> int:
    """A process's resident memory: VmRSS (all), or RssAnon (its own heap, not
    the file pages it maps, such as tantivy's segment files during merges)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def tree_rss_kib(
    pid: int, peaks: dict[int, tuple[int, int]], cpu: dict[int, float]
) -> tuple[int, int]:
    """Summed (RSS, anonymous RSS) of ``pid`` and its descendants; ``peaks``
    keeps each process's maxima, ``cpu`` its CPU seconds so far."""
    todo, total, anon = [pid], 0, 0
    while todo:
        current = todo.pop()
        cpu[current] = max(cpu.get(current, 0.0), _cpu_seconds(current))
        rss, own = _rss_kib(current), _rss_kib(current, "RssAnon:")
        # VmHWM: the kernel's own record of the process's peak, between samples too
        old = peaks.get(current, (0, 0))
        peaks[current] = (max(old[0], rss, _rss_kib(current, "VmHWM:")), max(old[1], own))
        total, anon = total + rss, anon + own
        todo += _children(current)
    return total, anon


class MemoryCgroup:
    """A throwaway memory cgroup with a hard limit, for one child process."""

    V1 = Path("/sys/fs/cgroup/memory")
    V2 = Path("/sys/fs/cgroup")

    def __init__(self, limit: int) -> None:
        name = f"cablegate-bench-{os.getpid()}"
        self.v2 = (self.V2 / "cgroup.controllers").is_file()
        self.path = (self.V2 if self.v2 else self.V1) / name
        self.path.mkdir()
        limit_file = "memory.max" if self.v2 else "memory.limit_in_bytes"
        (self.path / limit_file).write_text(str(limit))
        if self.v2:
            (self.path / "memory.swap.max").write_text("0")

    def enter(self) -> None:
        """In the child before exec: move this process (and so its children) in."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def report(self) -> str:
        def read(name: str) -> str:
            try:
                return (self.path / name).read_text().strip()
            except OSError:
                return "?"

        peak = read("memory.peak" if self.v2 else "memory.max_usage_in_bytes")
        events = read("memory.events" if self.v2 else "memory.oom_control")
        kills = next((line.split()[1] for line in events.splitlines()
                      if line.startswith("oom_kill ")), "?")
        peak_mib = f"{int(peak) / 2**20:,.0f} MiB" if peak.isdigit() else peak
        return (f"memory cgroup: peak charged {peak_mib} (processes' memory + mapped "
                f"and written file pages), OOM kills {kills}")

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return str(pid)
    if "cablegate" in args and "ingest" in args:
        return "ingest"
    text = " ".join(args)
    return "child" if "spawn_main" in text else ("tracker" if "tracker" in text else "other")


def stages(corpus: Path, n: int) -> None:
    """CPU time per cable of each ingest stage, run one after the other in this
    process on the first ``n`` inputs (fresh SQLite file and index)."""
    import itertools
    import tempfile

    if os.environ.get("CABLEGATE_BENCH_INSTALLED") != "1":
        sys.path.insert(0, str(ROOT))  # this working tree's package, else the one installed
    from cablegate import db, store
    from cablegate.formats import read_inputs
    from cablegate.ingest import IndexFeeder
    from cablegate.parse import record_from_raw
    from cablegate.search import SearchIndex

    cpu = time.process_time
    t0 = cpu()
    raws = list(itertools.islice(read_inputs([corpus]), n))
    t1 = cpu()
    records = [record_from_raw(r) for r in raws]
    t2 = cpu()
    prepared = [store.prepare(r) for r in records]
    t3 = cpu()
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.get_engine(f"sqlite:///{tmp}/stages.db")
        index = SearchIndex(Path(tmp) / "index")
        feeder = IndexFeeder(engine, index)
        write = feed = 0.0
        for i in range(0, len(prepared), 1000):
            a = cpu()
            with db.writing(engine) as conn:
                db.tune_for_bulk_writes(conn)
                result = store.write_batch(conn, prepared[i : i + 1000], [], now=db.utcnow())
            b = cpu()
            feeder.feed(result)
            write, feed = write + b - a, feed + cpu() - b
        a = cpu()
        feeder.close()
        close = cpu() - a
        index.close()
    per = 1000 / len(raws)
    print(f"{len(raws):,} inputs of {corpus}; CPU ms per cable (this process only):")
    for name, secs in (("read (formats)", t1 - t0), ("field parsing (telegram)", t2 - t1),
                       ("prepare (hash, JSON)", t3 - t2), ("store (SQLite write)", write),
                       ("index documents + upsert", feed), ("index commit + final sync", close)):
        print(f"  {name:<28} {secs * per:6.2f}")
    # process_time counts every thread of the process: tantivy's indexing
    # threads' work is in the two index lines
    print(f"  field parser: {sys.modules['cablegate.telegram'].__file__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--db", default=None, help="database URL (default: new SQLite file)")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL server (initdb + pg_ctl) and use it")
    parser.add_argument("--index", default=None, help="index directory")
    parser.add_argument("--jobs", default=None, help="parse worker processes")
    parser.add_argument("--batch", help="cables per batch (cablegate ingest --batch)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--memory-limit", type=int, default=None, metavar="BYTES",
                        help="run the ingest in a memory cgroup with this hard limit (root)")
    parser.add_argument("--stages", type=int, default=None, metavar="N",
                        help="measure CPU per stage on the first N inputs instead")
    opts = parser.parse_args()
    if opts.stages:
        stages(opts.corpus, opts.stages)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    url = opts.db
    server = None
    if opts.postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from _pg import PostgresServer, create_database

        server = PostgresServer()
        url = create_database(server.start())
        opts.index = opts.index or str(OUT / "bench-pg.index")
    elif url is None:
        path = OUT / "bench.db"
        for stale in OUT.glob("bench.db*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        url = f"sqlite:///{path}"
    # -P: the installed package (PYTHONPATH=/tmp/cablegate-compiled for the
    # compiled build, setup.py), not whatever folder this is run from
    where = subprocess.run([sys.executable, "-P", "-c", "import cablegate.telegram as t; "
                            "print(t.__file__)"], capture_output=True, text=True, check=True)
    print(f"field parser: {where.stdout.strip()}")
    cmd = [sys.executable, "-P", "-m", "cablegate", "ingest", str(opts.corpus), "--db", url]
    if opts.index:
        shutil.rmtree(opts.index, ignore_errors=True)
        cmd += ["--index", opts.index]
    if opts.jobs:
        cmd += ["--jobs", opts.jobs]
    if opts.batch:
        cmd += ["--batch", opts.batch]
    cgroup = MemoryCgroup(opts.memory_limit) if opts.memory_limit else None
    if cgroup is not None:
        print(f"memory limit: {opts.memory_limit:,} bytes ({cgroup.path})")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=cgroup.enter if cgroup is not None else None)
    peak = peak_anon = 0
    peaks: dict[int, tuple[int, int]] = {}
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    while proc.poll() is None:
        rss, anon = tree_rss_kib(proc.pid, peaks, cpu)
        peak, peak_anon = max(peak, rss), max(peak_anon, anon)
        for pid in peaks.keys() - names.keys():
            names[pid] = _name(pid)
        time.sleep(0.5)
    seconds = time.monotonic() - started
    out, err = proc.communicate()
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(err.strip().splitlines()[-3:] if proc.returncode not in (0, 1) else "", end="")
    summary = out.strip().splitlines()[-1] if out.strip() else "(no summary)"
    total = sum(int(w) for w in summary.split("(")[-1].split()[:1] if w.isdigit()) or None
    print(f"corpus: {opts.corpus} ({opts.corpus.stat().st_size / 1e9:.2f} GB)")
    print(f"database: {url.split('@')[-1]}")
    print(f"exit status: {proc.returncode}; summary: {summary}")
    print(f"wall time: {seconds:.1f} s" + (f" ({total / seconds:,.0f} cables/s)" if total else ""))
    print(f"peak RSS, ingest + workers (sampled): {peak / 1024:,.0f} MiB "
          f"(anonymous: {peak_anon / 1024:,.0f} MiB)")
    print(f"peak RSS, largest single process: {single / 1024:,.0f} MiB")
    print(f"sum of the processes' own peaks (VmHWM; an upper bound of the summed peak): "
          f"{sum(rss for rss, _anon in peaks.values()) / 1024:,.0f} MiB")
    print("peak RSS per process, MiB (anonymous): " + ", ".join(
        f"{names.get(pid, pid)} {rss / 1024:,.0f} ({anon / 1024:,.0f})"
        for pid, (rss, anon) in sorted(peaks.items(), key=lambda kv: -kv[1][0])))
    if cgroup is not None:
        print(cgroup.report())
        cgroup.remove()
    if total:
        # Sampled every 0.5 s, so a process's last half second may be missing.
        print("CPU ms per cable, per process: " + ", ".join(
            f"{names.get(pid, pid)} {secs * 1000 / total:.2f}"
            for pid, secs in sorted(cpu.items(), key=lambda kv: -kv[1]) if secs > 0)
            + f"; total {sum(cpu.values()) * 1000 / total:.2f}")
    if server is not None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        engine.dispose()
        print(f"database size: {size / 1e9:.2f} GB")
        server.stop()
    elif opts.db is None:
        size = sum(p.stat().st_size for p in OUT.glob("bench.db*") if p.is_file())
        print(f"database size: {size / 1e9:.2f} GB (SQLite file + WAL)")
    if not opts.keep and opts.db is None:
        for stale in OUT.glob("bench.db*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


if __name__ == "__main__":
    main()
