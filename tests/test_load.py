"""A bounded load test, loopback only (issue 5): 50 concurrent readers plus
concurrent comment posting against a real ``cablegate serve --workers 2`` on a
copy of the site archive (SQLite), for a few seconds.

Passes when no request fails (no 5xx, no connection error) and no comment is
lost or doubled: every comment the site accepted is in the database exactly
once, and the published ones are on their cable's page. Not a benchmark: the
figures it prints are for information; bench/ measures speed.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from _pubsite import add_users, copy_archive, csrf_token, next_ip, start_site
from sqlalchemy import select

from cablegate import discussion as disc
from cablegate.db import get_engine, utcnow
from cablegate.schema import cables, comments
from cablegate.web import url_builder as urls

READERS = 50
POSTERS = 6
SECONDS = 6.0
MAX_REQUESTS_PER_READER = 400
MAX_COMMENTS_PER_POSTER = 40


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (refid, text)


@pytest.fixture(scope="module")
def load_site(site_archive, tmp_path_factory):
    archive = copy_archive(site_archive, tmp_path_factory.mktemp("load"))
    add_users(archive.url)
    # Throttles off for this test: every poster is one busy client.
    live = start_site(archive, {"CABLEGATE_COMMENT_LIMIT": "100000/60"}, workers=2)
    yield archive, live
    live.stop()


def reader_urls(engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(cables.c.reference_id, cables.c.created, cables.c.origin)
                            .where(cables.c.release_at <= utcnow())
                            .order_by(cables.c.reference_id)).all()
    picked = random.Random(5).sample(rows, 40)
    out = [urls.cable_path(r.reference_id, r.created) for r in picked]
    out += [urls.cable_path(r.reference_id, r.created, "json") for r in picked[:10]]
    out += [urls.browse_path("origin", r.origin) for r in picked[:5] if r.origin]
    out += ["/", "/index.json", "/feed.atom", "/comments.atom", "/search.json?q=embassy",
            "/search?q=minister+OR+ambassador", "/tag/index.html"]
    return out


async def read(client: httpx.AsyncClient, targets: list[str], deadline: float,
               tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(MAX_REQUESTS_PER_READER):
        if time.monotonic() > deadline:
            return
        url = rng.choice(targets)
        try:
            response = await client.get(url)
        except httpx.HTTPError as err:
            tally.errors.append(f"GET {url}: {type(err).__name__} {err}")
            continue
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.errors.append(f"GET {url}: {response.status_code}")


async def post(client: httpx.AsyncClient, token: str, refids: list[str], poster: int,
               deadline: float, tally: Tally) -> None:
    for i in range(MAX_COMMENTS_PER_POSTER):
        if time.monotonic() > deadline:
            return
        refid = refids[i % len(refids)]
        text = f"load comment {poster}-{i} {uuid.uuid4().hex}"
        try:
            response = await client.post(f"/cable/{refid}/comments", data={
                "name": f"Load Poster {poster}", "email": f"poster{poster}@example.org",
                "comment": text, "csrf_token": token})
        except httpx.HTTPError as err:
            tally.errors.append(f"POST {refid}: {type(err).__name__} {err}")
            continue
        tally.statuses[response.status_code] += 1
        if response.status_code == 303:
            tally.accepted.append((refid, text))
        else:
            tally.errors.append(f"POST {refid}: {response.status_code}")


async def run_load(base: str, targets: list[str], refids: list[str]) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=READERS + POSTERS)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as shared:
        for url in targets:  # warm the page store: the load then mixes hits and re-renders
            await shared.get(url)
        posters = [httpx.AsyncClient(base_url=base, timeout=60,
                                     headers={"X-Forwarded-For": next_ip()})
                   for _ in range(POSTERS)]
        tokens = []
        for client in posters:
            page = await client.get(f"/cable/{refids[0]}", follow_redirects=True)
            tokens.append(csrf_token(page.text))
        deadline = time.monotonic() + SECONDS
        try:
            await asyncio.gather(
                *(read(shared, targets, deadline, tally, n) for n in range(READERS)),
                *(post(posters[n], tokens[n], refids, n, deadline, tally)
                  for n in range(POSTERS)),
            )
        finally:
            for client in posters:
                await client.aclose()
    return tally


def test_readers_and_commenters_at_once(load_site):
    archive, live = load_site
    engine = get_engine(archive.url)
    targets = reader_urls(engine)
    with engine.connect() as conn:
        refids = list(conn.execute(
            select(cables.c.reference_id).where(cables.c.release_at <= utcnow())
            .order_by(cables.c.reference_id.desc()).limit(4)).scalars())
    # Half the posters are approved commenters (published at once: each comment
    # changes a cable page the readers are reading); the others' wait in the queue.
    from cablegate.public import PublicArchive

    public = PublicArchive(engine, None)
    for poster in range(0, POSTERS, 2):
        first = disc.submit_comment(engine, public, refids[0], disc.CommentInput(
            f"Load Poster {poster}", f"poster{poster}@example.org", None, "hello"), f"p{poster}")
        disc.moderate(engine, "comment", [first.id], "approve", by="tests")
    targets += [f"/cable/{r}" for r in refids]

    started = time.monotonic()
    tally = asyncio.run(run_load(live.base, targets, refids))
    elapsed = time.monotonic() - started
    total = sum(tally.statuses.values())
    print(f"\nload: {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s), "
          f"statuses {dict(tally.statuses)}, {len(tally.accepted)} comments accepted")

    assert tally.errors == [], live.log_tail()
    assert total >= READERS  # every reader got through at least once
    assert len(tally.accepted) >= POSTERS
    with engine.connect() as conn:
        stored = Counter(conn.execute(
            select(comments.c.body).where(comments.c.body.like("load comment %"))).scalars())
        statuses = dict(conn.execute(
            select(comments.c.body, comments.c.status)
            .where(comments.c.body.like("load comment %"))).all())
    sent = Counter(text for _refid, text in tally.accepted)
    assert stored == sent  # each accepted comment exactly once, nothing else
    published = [(r, t) for r, t in tally.accepted if statuses[t] == "approved"]
    assert published and len(published) < len(tally.accepted)
    with httpx.Client(base_url=live.base, timeout=60) as client:
        for refid in refids:
            page = client.get(f"/cable/{refid}", follow_redirects=True).text
            for _refid, text in [p for p in published if p[0] == refid]:
                assert text in page
    engine.dispose()
