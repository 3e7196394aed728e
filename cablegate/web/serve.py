"""Running the site: the archive each worker opens, index syncing, uvicorn.

``cablegate serve`` runs ``serve()``: it migrates the database, brings the
search index up to date, keeps it in step in a background thread (the one
writer of the index directory; uvicorn workers only read it) and starts
uvicorn, with ``--workers N`` processes that each build the app through
``app_from_env`` (settings travel in environment variables).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger("cablegate.web")

ENV_DB = "CABLEGATE_DB"
ENV_INDEX = "CABLEGATE_INDEX"
ENV_BASE_URL = "CABLEGATE_BASE_URL"
ENV_PAGES = "CABLEGATE_PAGES"  # the rendered-page cache file (default: <db file>.pages)


def open_archive(db_url: str | None = None, index_dir: str | None = None) -> Any:
    """A PublicArchive on the database and its search index (read side)."""
    from ..db import get_engine, index_path
    from ..indexer import open_index
    from ..public import PublicArchive

    engine = get_engine(db_url)
    index = open_index(index_path(db_url, index_dir))
    return PublicArchive(engine, index)


def archive_from_env() -> Any:
    return open_archive(os.environ.get(ENV_DB) or None, os.environ.get(ENV_INDEX) or None)


def app_from_env() -> Any:
    """The uvicorn factory: one app per worker process, configured from the environment."""
    from .app import create_app, front_door
    from .pagestore import default_path

    pages = os.environ.get(ENV_PAGES) or default_path(os.environ.get(ENV_DB) or None)
    return front_door(create_app(archive_from_env, base_url=os.environ.get(ENV_BASE_URL, ""),
                                 page_store=pages))


class IndexSyncer(threading.Thread):
    """Applies the change log and due releases to the search index every few seconds."""

    def __init__(self, db_url: str | None, index_dir: str | None, interval: float = 2.0) -> None:
        super().__init__(name="cablegate-index-sync", daemon=True)
        self.db_url, self.index_dir, self.interval = db_url, index_dir, interval
        self.stopped = threading.Event()

    def sync_once(self) -> dict[str, int]:
        from ..db import get_engine, index_path
        from ..indexer import open_index, sync_index

        index = open_index(index_path(self.db_url, self.index_dir))
        try:
            return sync_index(get_engine(self.db_url), index)
        finally:
            index.close()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.sync_once()
            except Exception as err:  # keep serving; the next round retries
                log.warning("search index sync failed: %s", err)

    def stop(self) -> None:
        self.stopped.set()


def serve(
    db_url: str | None = None,
    index_dir: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    base_url: str = "",
    sync_interval: float = 2.0,
    log_level: str = "info",
) -> None:
    import uvicorn

    from ..db import database_url, get_engine

    url = database_url(db_url)
    get_engine(url)  # migrate once, before the workers start
    os.environ[ENV_DB] = url
    if index_dir:
        os.environ[ENV_INDEX] = index_dir
    if base_url:
        os.environ[ENV_BASE_URL] = base_url
    syncer = IndexSyncer(url, index_dir, sync_interval)
    syncer.sync_once()
    syncer.start()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": max(1, workers),
        "factory": True,
        "log_level": log_level,
        "access_log": False,
    }
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401

        options.update(loop="uvloop", http="httptools")
    except ImportError:
        pass
    try:
        uvicorn.run("cablegate.web.serve:app_from_env", **options)
    finally:
        syncer.stop()
