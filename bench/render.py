"""CPU time and SQL statements per cold render of cable and browse pages, in process.

    python bench/render.py --db sqlite:////tmp/bench/c25k.db --count 200

Renders ``--count`` random public cable pages and ``--count`` // 4 random
browse pages through ``Site`` (no page store, so every render is cold) and
prints the mean process CPU time and the mean number of SQL statements each.

    python bench/render.py --db sqlite:////tmp/bench/c25k.db --fast-path 3000

instead calls the site's ASGI app in process (no HTTP, no uvicorn) for
``--fast-path`` requests of random cable pages, after one pass that stores
them in the page store (``<db>.pages``): the CPU of a stored page's answer.
"""

from __future__ import annotations

import argparse
import random
import time

from sqlalchemy import event

from cablegate.db import get_engine
from cablegate.public import PublicArchive
from cablegate.web.site import Site, iter_browse_values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fast-path", type=int, default=0,
                        help="time N in-process ASGI requests of stored cable pages instead")
    args = parser.parse_args()
    if args.fast_path:
        fast_path(args.db, args.fast_path, args.seed)
        return

    engine = get_engine(args.db)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.__setitem__(
        0, statements[0] + 1))
    archive = PublicArchive(engine, None)
    site = Site(archive, static=True)
    rng = random.Random(args.seed)

    from cablegate.export import public_refids

    refids = rng.sample(public_refids(archive), args.count)
    report("cable page", [lambda r=r: site.cable_page(r) for r in refids], statements)

    values = [(k, v) for k, v, _ in iter_browse_values(archive)]
    picks = rng.sample(values, min(len(values), max(args.count // 4, 1)))
    report("browse page", [lambda k=k, v=v: site.browse_page(k, _slug(site, k, v))
                           for k, v in picks], statements)


def fast_path(db: str, count: int, seed: int) -> None:
    import asyncio

    from cablegate.export import public_refids
    from cablegate.web import url_builder as urls
    from cablegate.web.app import create_app
    from cablegate.web.pagestore import default_path
    from cablegate.web.serve import open_archive

    archive = PublicArchive(get_engine(db), None)
    rng = random.Random(seed)
    refids = rng.sample(public_refids(archive), min(count, 2000))
    docs = archive.public_documents(refids[:900])
    paths = [urls.cable_path(r, d["created"]) for r, d in docs.items() if d]
    app = create_app(lambda: open_archive(db, None), page_store=default_path(db))

    async def request(path: str) -> int:
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "scheme": "http",
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1234), "root_path": "",
                 "http_version": "1.1", "asgi": {"version": "3.0"}}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"]

    async def run(picks: list[str]) -> None:
        for path in picks:
            assert await request(path) == 200, path

    asyncio.run(run(paths))  # stored (rendered when missing), not counted
    picks = [rng.choice(paths) for _ in range(count)]
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    asyncio.run(run(picks))
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    print(f"stored cable page through the ASGI app: {count} requests, "
          f"CPU {cpu / count * 1e6:.0f} µs/request, wall {wall / count * 1e6:.0f} µs/request")


def _slug(site: Site, kind: str, value: str) -> str:
    from cablegate.web import url_builder as urls

    return urls.slugify(value)


def report(name: str, renders: list, statements: list[int]) -> None:
    renders[0]()  # templates compiled, caches warmed: not counted
    start_cpu, start_wall, start_sql = time.process_time(), time.perf_counter(), statements[0]
    for render in renders:
        render()
    cpu = time.process_time() - start_cpu
    wall = time.perf_counter() - start_wall
    sql = statements[0] - start_sql
    n = len(renders)
    print(f"{name}: {n} renders, CPU {cpu / n * 1000:.1f} ms/render, "
          f"wall {wall / n * 1000:.1f} ms/render, {sql / n:.1f} SQL statements/render")


if __name__ == "__main__":
    main()
