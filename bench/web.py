"""Web benchmark: requests/s and p50/p99 latency of cable pages, browse pages and
searches under concurrent clients, on loopback only.

    python bench/web.py --db sqlite:///bench.db [--workers 2] [--clients 50]
                        [--seconds 20] [--warm N] [--port 0]

Starts ``cablegate serve`` on the archive (a free 127.0.0.1 port), then for
each scenario runs ``--clients`` keep-alive HTTP/1.1 connections from a load
process of its own (a minimal asyncio client, so the client costs little of
the 2 shared cores), each sending requests back to back for ``--seconds``:

* cable:  random cables of the whole archive (``/cable/YYYY/MM/ID.html``)
* browse: random browse pages (random kind, value and page)
* search: a fixed mix of 30 queries (words, phrases, filters, boolean), random pages 0-2

``--warm N`` first requests N random cables once (to fill the rendered-page cache
as a long-running server would have it); 0 measures cold renders. Prints one
line per scenario and a JSON summary. Bounded: at most ``--clients``
connections, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "government", "minister", "nuclear", "iran nuclear", '"foreign minister"', "election*",
    "oil OR gas", "president -election", "tag:PREL", "origin:moscow", "classification:secret",
    "human rights", "terrorism", "subject:visit", "from:2008-01-01 to:2008-12-31 economy",
    "(iran OR iraq) sanctions", "military", "corruption", "embassy", '"end summary"',
    "trade agreement", "refugees", "elections tag:PGOV", "energy", "bank*", "visa",
    "china", "russia ukraine", "afghanistan taliban", "drug*",
]


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds (user, system) used so far by process ``pid`` and its descendants
    (the server's workers): with requests served, the cost per request whatever
    else the shared machine is running."""
    parents: dict[int, int] = {}
    times: dict[int, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    user = system = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        user += times.get(current, (0.0, 0.0))[0]
        system += times.get(current, (0.0, 0.0))[1]
        todo += [child for child, parent in parents.items() if parent == current]
    return user, system


def empty_views(db_url: str) -> None:
    """Delete the stored search and browse pages (cable pages stay)."""
    import sqlite3

    from cablegate.web.pagestore import default_path

    path = default_path(db_url)
    if path.exists():
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM views")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_paths(db_url: str, count: int, seed: int = 1) -> dict[str, list[str]]:
    """Random cable and browse page paths, through the public gate."""
    from cablegate.db import get_engine
    from cablegate.export import public_refids
    from cablegate.public import PublicArchive
    from cablegate.web import url_builder as urls

    archive = PublicArchive(get_engine(db_url), None)
    rng = random.Random(seed)
    refids = public_refids(archive)
    chosen = rng.sample(refids, min(count, len(refids)))
    cables = []
    for i in range(0, len(chosen), 900):
        docs = archive.public_documents(chosen[i:i + 900])
        cables += [urls.cable_path(r, d["created"]) for r, d in docs.items() if d]
    browse = []
    for kind in urls.BROWSE_KINDS:
        values = archive.facet_counts(kind)
        for value, n in rng.sample(values, min(len(values), 200)):
            browse.append(urls.browse_path(kind, value, rng.randrange(max(1, -(-n // 50)))))
    searches = [f"/search?q={quote(q)}" + (f"&page={p}" if p else "")
                for q in QUERIES for p in range(3)]
    return {"cable": cables, "browse": browse, "search": searches}


# --------------------------------------------------------------------------- load process


async def _request(reader, writer, path: str) -> int:
    """One keep-alive GET; returns the status (body read: Content-Length or chunked)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n"):
        name = line.split(b":", 1)[0].lower()
        if name == b"content-length":
            length = int(line.split(b":", 1)[1])
        elif name == b"transfer-encoding" and b"chunked" in line.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _client(port: int, paths: list[str], until: float, latencies: list[float],
                  errors: list[int], rng: random.Random) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            path = rng.choice(paths)
            started = time.perf_counter()
            try:
                status = await _request(reader, writer, path)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                errors.append(-1)  # the server closed the connection: count it, reconnect
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def _load(port: int, paths: list[str], clients: int, seconds: float, out) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> float:
        until = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(_client(port, paths, until, latencies, errors, random.Random(i))
                               for i in range(clients)))
        return time.perf_counter() - started

    cpu = time.process_time()
    elapsed = asyncio.run(main())
    out.send((latencies, errors, elapsed, time.process_time() - cpu))


def run_load(port: int, paths: list[str], clients: int, seconds: float,
             server_pid: int | None = None) -> dict:
    server_cpu = tree_cpu(server_pid) if server_pid else (0.0, 0.0)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_load, args=(port, paths, clients, seconds, child))
    process.start()
    while not parent.poll(1.0):
        if not process.is_alive():
            raise RuntimeError("the load process died (see its traceback above)")
    latencies, errors, elapsed, client_cpu = parent.recv()
    process.join()
    after = tree_cpu(server_pid) if server_pid else (float("nan"), float("nan"))
    server_user, server_system = after[0] - server_cpu[0], after[1] - server_cpu[1]
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {
        "requests": n, "errors": len(errors), "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if n else float("nan"),
        "server_cpu_us": (server_user + server_system) / n * 1e6 if n else float("nan"),
        "server_system_us": server_system / n * 1e6 if n else float("nan"),
        "client_cpu_us": client_cpu / n * 1e6 if n else float("nan"),
        "load_avg": os.getloadavg()[0],
    }


def warm(port: int, paths: list[str], clients: int) -> float:
    """Request each path once (fills the page cache); returns seconds taken."""
    started = time.perf_counter()
    queue = list(paths)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            path = queue.pop()
            try:
                await _request(reader, writer, path)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(clients)))

    asyncio.run(main())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--index", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sample", type=int, default=20000, help="random cables to draw from")
    parser.add_argument("--warm", type=int, default=-1,
                        help="cables to request once before measuring (-1: all sampled)")
    parser.add_argument("--warm-views", action="store_true",
                        help="request every browse/search path once before measuring it "
                        "(what a long-running server has stored; default: start cold)")
    parser.add_argument("--cold-views", action="store_true",
                        help="first empty the stored search/browse pages of the page store "
                        "(<db>.pages), to measure them rendered on first request")
    parser.add_argument("--scenarios", default="cable,browse,search")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    paths = sample_paths(args.db, args.sample)
    if args.cold_views:
        empty_views(args.db)
    port = args.port or free_port()
    command = [sys.executable, "-m", "cablegate", "serve", "--db", args.db, "--port", str(port),
               "--workers", str(args.workers)]
    if args.index:
        command += ["--index", args.index]
    server = subprocess.Popen(command, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        warm(port, ["/index.json"] * (args.workers * 4), args.workers * 2)
        results = {}
        for scenario in args.scenarios.split(","):
            scenario_paths = paths[scenario]
            if scenario == "cable" and args.warm != 0:
                count = len(scenario_paths) if args.warm < 0 else args.warm
                seconds = warm(port, scenario_paths[:count], args.clients)
                print(f"warm: {count} cable pages rendered in {seconds:.1f} s "
                      f"({count / seconds:.0f}/s)", flush=True)
                scenario_paths = scenario_paths[:count]
            elif scenario != "cable" and args.warm_views:
                seconds = warm(port, scenario_paths, args.clients)
                print(f"warm: {len(scenario_paths)} {scenario} pages in {seconds:.1f} s",
                      flush=True)
            result = run_load(port, scenario_paths, args.clients, args.seconds, server.pid)
            results[scenario] = result
            print(f"{scenario:7s} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                  f"p99 {result['p99_ms']:6.1f} ms  ({result['requests']} requests, "
                  f"{result['errors']} errors, {args.clients} clients, {args.workers} workers)"
                  f"  CPU/request: server {result['server_cpu_us']:.0f} µs "
                  f"({result['server_system_us']:.0f} in the kernel), "
                  f"client {result['client_cpu_us']:.0f} µs; load avg {result['load_avg']:.1f}",
                  flush=True)
        print(json.dumps(results))
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
