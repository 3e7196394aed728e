"""Shared fixtures. The real corpus lives in ../shared beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
REFERENCE = SHARED / "reference"
SEED = SHARED / "seed" / "000_073a325e002c35d2.txt"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real corpus folder; tests that need it skip only when ../shared is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(scope="session")
def seed_page() -> Path:
    if not SEED.is_file():
        pytest.skip("../shared/seed is not present")
    return SEED


# --- Databases: SQLite and a real PostgreSQL (storage, ingest and search tests) ---


@pytest.fixture(scope="session")
def pg_admin_url():
    """URL of a PostgreSQL server for the whole run: CABLEGATE_TEST_PG, or a
    throwaway server started here (initdb + pg_ctl). Without server binaries
    the PostgreSQL tests fail under CI=true and skip otherwise."""
    import os

    from _pg import PostgresServer

    if os.environ.get("CABLEGATE_TEST_PG"):
        yield os.environ["CABLEGATE_TEST_PG"]
        return
    try:
        server = PostgresServer()
    except FileNotFoundError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {err}")
        pytest.skip(str(err))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database per test: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cablegate.db'}"
        return
    from _pg import create_database, drop_database

    admin = request.getfixturevalue("pg_admin_url")
    url = create_database(admin)
    try:
        yield url
    finally:
        drop_database(admin, url)


# --- The site tests' archive and live server (tests/_site.py) ---
# --- The publishing tests' writable archive copy and server (tests/_pubsite.py) ---
from _pubsite import pub_archive, pub_site  # noqa: E402, F401
from _site import http, live_site, site_archive  # noqa: E402, F401
