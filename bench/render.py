"""CPU time and SQL statements per cold render of cable and browse pages, in process.

    python bench/render.py --db sqlite:////tmp/bench/c25k.db --count 200

Renders ``--count`` random public cable pages and ``--count`` // 4 random
browse pages through ``Site`` (no page store, so every render is cold) and
prints the mean process CPU time and the mean number of SQL statements each.
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
    args = parser.parse_args()

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
