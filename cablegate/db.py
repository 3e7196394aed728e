"""Database engines: URL choice, SQLite connection setup, Alembic migrations.

``get_engine(url)`` is the one way to open the archive: it picks the URL
(argument, ``CABLEGATE_DB``, or ``sqlite:///cablegate.db``), sets SQLite up for
safe concurrent use and applies pending migrations on first use.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///cablegate.db"
DEFAULT_INDEX_DIR = "cablegate-index"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any fixed 64-bit number: serialises concurrent first-use migrations on PostgreSQL.
_PG_MIGRATION_LOCK = 0x6361626C65676174


def utcnow() -> datetime:
    """The current time as naive UTC (how the archive stores every time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("CABLEGATE_DB") or DEFAULT_URL


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def index_path(url: str | None = None, index: str | os.PathLike | None = None) -> Path:
    """Where the search index of database ``url`` lives.

    ``index`` / ``CABLEGATE_INDEX`` when given; beside a SQLite file otherwise
    (``cablegate.db`` -> ``cablegate.db.index``); ``./cablegate-index`` for a
    server database.
    """
    if index:
        return Path(index)
    if os.environ.get("CABLEGATE_INDEX"):
        return Path(os.environ["CABLEGATE_INDEX"])
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database + ".index")
    return Path(DEFAULT_INDEX_DIR)


def get_engine(url: str | None = None, *, upgrade: bool = True, **kwargs) -> Engine:
    """An engine on the archive at ``url``, migrated to the latest schema."""
    url = database_url(url)
    if is_sqlite(url):
        engine = _sqlite_engine(url, **kwargs)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    if upgrade:
        ensure_upgraded(engine)
    return engine


def _sqlite_engine(url: str, **kwargs) -> Engine:
    # Let SQLAlchemy emit BEGIN itself (the pysqlite driver's own transaction
    # handling does not begin before every statement) so writers can ask for
    # BEGIN IMMEDIATE and never hit an unresolvable lock upgrade.
    kwargs.setdefault("connect_args", {}).setdefault("timeout", 60)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer; NORMAL is durable against a
        # killed process (only a power cut can lose the last commits).
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction (committed on success, rolled back on error).

    On SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE).
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def tune_for_bulk_writes(conn: Connection) -> None:
    """Session settings for a long bulk write (ingest) on SQLite: a bigger page
    cache and rarer WAL checkpoints (each checkpoint writes the pages changed
    since the last one and syncs the database file: index pages changed again
    and again are written fewer times; 256 MiB took 15-30 % less time per
    cable than 64 MiB, docs/performance.md)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-32768")  # 32 MiB
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=65536")  # pages (256 MiB at 4 KiB)


def _alembic_config(connection: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(cfg).get_current_head()  # type: ignore[return-value]


@functools.cache
def _head() -> str:
    return head_revision()


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (``cablegate db upgrade``)."""
    from alembic import command

    with writing(engine) as conn:
        if engine.dialect.name == "postgresql":
            # Held until commit: a second process waits, then finds nothing to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        if current_revision(conn) != _head():
            command.upgrade(_alembic_config(conn), "head")


def ensure_upgraded(engine: Engine) -> None:
    """Migrate a database that is not at the latest schema (first use)."""
    with engine.connect() as conn:
        current = current_revision(conn)
    if current != _head():
        upgrade(engine)
