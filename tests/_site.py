"""Fixtures of the site tests: a real archive and a real server.

``site_archive`` builds one SQLite archive for the whole run from real corpus
cables (the 2010-12 snapshot and the same cables' 2011-04 pages, so 28 of them
have two revisions with real differences, plus the 2011-04 pages of 2007) and
the synthetic demo cables (references between them, revisions, a few
embargoed). ``live_site`` runs ``cablegate serve`` on it in a subprocess on a
free loopback port. Imported by tests/conftest.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_COUNT = 300


@dataclass
class SiteArchive:
    url: str
    index_dir: str
    path: Path
    embargoed: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    demo_ids: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def corpus_inputs(corpus: Path) -> list[str]:
    """The 2010-12 pages, the 2011-04 pages of the same cables, and 2011-04's 2007 cables."""
    old = corpus / "cablegate_html" / "2010-12_chillicoder"
    new = corpus / "cablegate_html" / "2011-04_avilaroman"
    names = {p.relative_to(old / "cable") for p in old.rglob("*.html")}
    paths = [str(new / "cable" / n) for n in sorted(names) if (new / "cable" / n).is_file()]
    paths += [
        str(p)
        for p in sorted((new / "cable" / "2007").rglob("*.html"))
        if p.relative_to(new / "cable") not in names
    ]
    return paths + [str(old)]


def build_archive(directory: Path, corpus: Path | None) -> SiteArchive:
    from sqlalchemy import select

    from cablegate.db import get_engine, utcnow
    from cablegate.demo import build_demo
    from cablegate.indexer import open_index, sync_index
    from cablegate.ingest import ingest
    from cablegate.schema import cables

    url = f"sqlite:///{directory / 'site.db'}"
    index_dir = str(directory / "site.db.index")
    engine = get_engine(url)
    index = open_index(index_dir)
    try:
        if corpus is not None:
            summary = ingest(corpus_inputs(corpus), engine, index=index)
            assert summary.rejected == 0, summary.rejects[:3]
        build_demo(engine, index, count=DEMO_COUNT)
        sync_index(engine, index)
    finally:
        index.close()
    with engine.connect() as conn:
        now = utcnow()
        embargoed = list(
            conn.execute(select(cables.c.reference_id).where(cables.c.release_at > now)).scalars()
        )
        revised = list(
            conn.execute(select(cables.c.reference_id).where(cables.c.revision_count > 1)).scalars()
        )
        demo_ids = list(
            conn.execute(
                select(cables.c.reference_id).where(cables.c.subject.like("SYNTHETIC DEMO CABLE%"))
            ).scalars()
        )
    engine.dispose()
    return SiteArchive(url, index_dir, directory / "site.db", embargoed, revised, demo_ids)


@pytest.fixture(scope="session")
def site_archive(tmp_path_factory, corpus) -> SiteArchive:
    return build_archive(tmp_path_factory.mktemp("site"), corpus)


class LiveSite:
    def __init__(self, archive: SiteArchive, *, workers: int = 1) -> None:
        self.archive = archive
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # The server's log in a file beside the archive: an unread pipe could fill
        # and stall the server, and a 5xx is diagnosed from its traceback here.
        self.log_path = Path(archive.index_dir).parent / f"serve-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cablegate",
                "serve",
                "--db",
                archive.url,
                "--index",
                archive.index_dir,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=str(ROOT),
        )
        self._wait()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log (tracebacks of 5xx answers)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail(2000)}")
            try:
                if httpx.get(self.base + "/index.json", timeout=30).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def live_site(site_archive) -> LiveSite:
    site = LiveSite(site_archive)
    yield site
    site.stop()


@pytest.fixture(scope="session")
def http(live_site) -> httpx.Client:
    with httpx.Client(base_url=live_site.base, timeout=60) as client:
        yield client
