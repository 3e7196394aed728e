"""Fixtures of the publishing tests (issue 5): a writable copy of the site
archive, a real server on it, accounts, logged-in HTTP clients.

``pub_site`` (session) serves a *copy* of ``site_archive`` (real corpus cables
plus demo cables; tests/_site.py) with ``cablegate serve`` on a loopback port,
so these tests may post comments, redact and release without disturbing the
site tests. Each test talks as its own client: a distinct X-Forwarded-For
address (uvicorn trusts it from the loopback proxy address), so per-client
throttles of one test do not bite another. Imported by tests/conftest.py.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from _site import LiveSite, SiteArchive

EDITOR = ("editor1", "correct horse editor")
ADMIN = ("admin1", "correct horse admin!")
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_ips = itertools.count(1)


def next_ip() -> str:
    """A fresh client address (TEST-NET-2), one per call."""
    n = next(_ips)
    return f"198.51.{n // 250}.{n % 250 + 1}"


def copy_archive(source: SiteArchive, directory: Path) -> SiteArchive:
    """A consistent copy of an archive: SQLite backup API + a rebuilt index."""
    from cablegate.db import get_engine
    from cablegate.indexer import rebuild

    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "pub.db"
    src = sqlite3.connect(str(source.path))
    dst = sqlite3.connect(str(db_path))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    url = f"sqlite:///{db_path}"
    index_dir = str(directory / "pub.db.index")
    shutil.rmtree(index_dir, ignore_errors=True)
    engine = get_engine(url)
    rebuild(engine, index_dir)
    engine.dispose()
    return SiteArchive(url, index_dir, db_path, list(source.embargoed), list(source.revised),
                       list(source.demo_ids))


def add_users(db_url: str) -> None:
    from cablegate.accounts import create_user
    from cablegate.db import get_engine, writing

    engine = get_engine(db_url)
    with writing(engine) as conn:
        create_user(conn, *EDITOR, "editor", by="tests")
        create_user(conn, *ADMIN, "admin", by="tests")
    engine.dispose()


def csrf_token(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


@dataclass
class PubSite:
    archive: SiteArchive
    live: LiveSite
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.live.base

    @property
    def db_url(self) -> str:
        return self.archive.url

    def client(self, ip: str | None = None) -> httpx.Client:
        """A new anonymous HTTP client, as its own address."""
        client = httpx.Client(base_url=self.base, timeout=60,
                              headers={"X-Forwarded-For": ip or next_ip()})
        self.clients.append(client)
        return client

    def login(self, who: tuple[str, str] = EDITOR, ip: str | None = None) -> httpx.Client:
        """A client logged in as ``who`` (a real POST of the login form)."""
        client = self.client(ip)
        page = client.get("/login")
        assert page.status_code == 200
        response = client.post("/login", data={
            "username": who[0], "password": who[1], "next": "/admin",
            "csrf_token": csrf_token(page.text),
        })
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return client

    def engine(self):
        from cablegate.db import get_engine

        return get_engine(self.db_url)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.live.stop()


def start_site(archive: SiteArchive, env: dict[str, str] | None = None,
               workers: int = 1) -> LiveSite:
    """``cablegate serve`` on ``archive`` with extra environment variables."""
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        return LiveSite(archive, workers=workers)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def pub_archive(site_archive, tmp_path_factory) -> SiteArchive:
    archive = copy_archive(site_archive, tmp_path_factory.mktemp("pub"))
    add_users(archive.url)
    return archive


@pytest.fixture(scope="session")
def pub_site(pub_archive) -> Iterator[PubSite]:
    site = PubSite(pub_archive, start_site(pub_archive))
    yield site
    site.close()


def app_routes() -> list[tuple[str, frozenset[str]]]:
    """(path, methods) of every route of the site's app, included routers too:
    enumerated from the router, so a route added later is covered by the tests
    that walk this list."""
    from starlette.routing import Mount

    from cablegate.web.app import create_app

    out: list[tuple[str, frozenset[str]]] = []

    def walk(routes) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router
                walk(list(route.effective_route_contexts()))
            elif isinstance(route, Mount):
                out.append((route.path + "/{path}", frozenset({"GET"})))
            else:
                out.append((route.path, frozenset(route.methods or ())))

    walk(create_app(lambda: None).routes)
    return out
