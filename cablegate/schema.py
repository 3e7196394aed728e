"""The archive's tables (SQLAlchemy Core), one schema for SQLite and PostgreSQL.

Plain tables only: JSON values are stored as TEXT (``json.dumps``), times as
naive UTC ``DateTime`` (ISO text in SQLite), so the SQLite file stays a normal
database that sqlite3, Datasette or sqlite-utils can query. docs/schema.md
documents every column; the Alembic migrations in ``cablegate/migrations``
create exactly these tables (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

REFID = String(64)

# One row per cable (reference ID): the current revision's metadata, copied out
# of its record so browse pages, counts and facets need no JSON decoding.
cables = Table(
    "cables",
    metadata,
    Column("reference_id", REFID, primary_key=True),
    Column("current_revision", Integer, nullable=False),
    Column("revision_count", Integer, nullable=False),
    Column("created", String(32)),  # "YYYY-MM-DD HH:MM" as in the record
    Column("year", Integer),  # from created, for by-year counts
    Column("released", String(32)),  # the corpus's Released value (earliest seen)
    Column("release_at", DateTime, nullable=False),  # public from this UTC time on
    Column("release_set_by", String(200)),  # NULL: default from the corpus; else the editor
    Column("classification", String(100)),
    Column("origin", String(200)),
    Column("origin_code", String(100)),
    Column("subject", Text),
    Column("tags", Text, nullable=False),  # JSON list
    Column("first_ingested_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index(None, "release_at"),
    Index(None, "created"),
    Index(None, "origin", "created"),
    Index(None, "classification", "created"),
    Index(None, "year"),
)

# Every distinct text of a cable ever ingested; revision 1 is the first seen.
revisions = Table(
    "revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("revision", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),  # sha256 of header + body
    Column("body_hash", String(64), nullable=False),  # sha256 of body alone
    Column("header", Text),
    Column("body", Text),
    Column("record", Text, nullable=False),  # JSON: the parse record without header/body
    Column("released", String(32)),  # the Released value this snapshot carried
    Column("source_format", String(64)),
    Column("source_path", Text),
    Column("source_row", Integer),
    Column("ingested_at", DateTime, nullable=False),
    Column("ingest_run_id", Integer),
    UniqueConstraint("reference_id", "revision"),
    UniqueConstraint("reference_id", "content_hash"),
)

# References between cables, from the current revision's record. A target that
# is not a cable in the archive is an unresolved reference; resolution is a join
# with ``cables``, so a cable ingested later resolves earlier references.
links = Table(
    "links",
    metadata,
    Column(
        "source_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("target_id", REFID, primary_key=True),
    Column("position", Integer, nullable=False),  # order in the record's references
    Index(None, "target_id"),
)

cable_tags = Table(
    "cable_tags",
    metadata,
    Column(
        "reference_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", String(64), primary_key=True),
    Index(None, "tag"),
)

# Append-only log: one row per change of a cable's public view, written in the
# same transaction as the change. Derived indexes catch up from it (indexer.py).
changes = Table(
    "changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("reference_id", REFID, nullable=False),
    Column("kind", String(32), nullable=False),  # text | release | redaction | links | discussion
    Column("changed_at", DateTime, nullable=False),
)

# Editors' redactions (issue 5). Active while lifted_at is NULL. The public view
# replaces every occurrence of span_text (case-insensitive, any whitespace run
# matching any whitespace run) in every text field of every revision.
redactions = Table(
    "redactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("span_text", Text, nullable=False),
    Column("field", String(32)),  # where the editor selected it: header | body | ...
    Column("start_offset", Integer),  # the selection, for the editor's view
    Column("end_offset", Integer),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("lifted_at", DateTime),
    Column("lifted_by", String(200)),
    Index(None, "reference_id"),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),  # NULL: still running, or killed
    Column("paths", Text, nullable=False),  # JSON list
    Column("new", Integer, nullable=False, default=0),
    Column("new_revision", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("completed", Boolean, nullable=False, default=False),
)

# Inputs that could not be stored, one row per input (file, or file + CSV row);
# a later successful ingest of the same input removes its row.
rejects = Table(
    "rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("input_key", Text, nullable=False, unique=True),  # "path" or "path:row"
    Column("path", Text),
    Column("row", Integer),
    Column("reason", Text, nullable=False),
    Column("first_seen_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("ingest_run_id", Integer),
)


# =========================================================================== issue 5
# Publishing and discussion: accounts, sessions, login throttling, comments,
# trackbacks, the site secret and the editors' audit log (migration 0002).
# Maintained with cablegate/accounts.py, discussion.py and publishing.py.

# Editors and admins (readers are anonymous and have no row).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string
    Column("role", String(16), nullable=False),  # editor | admin
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
    Column("disabled_at", DateTime),  # set: cannot log in, sessions refused
)

# Login sessions: the cookie holds a random token; only its SHA-256 is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Index(None, "user_id"),
    Index(None, "expires_at"),
)

# Every login attempt, for throttling per username + client (client: keyed hash
# of the address, never the address itself).
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("client", String(64), nullable=False),
    Column("attempted_at", DateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index(None, "username", "client", "attempted_at"),
    Index(None, "client", "attempted_at"),
)

# Readers' comments. status: pending | approved | rejected | spam; only
# approved comments of released cables are public (through PublicArchive).
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("author_name", String(100), nullable=False),
    Column("author_email", String(254), nullable=False),  # never shown publicly
    Column("author_url", String(300)),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("client", String(64), nullable=False),  # keyed hash of the address
    Column("created_at", DateTime, nullable=False),
    Column("moderated_at", DateTime),
    Column("moderated_by", String(200)),
    Index(None, "reference_id", "status", "created_at"),
    Index(None, "status", "created_at"),
    Index(None, "client", "created_at"),
    Index(None, "author_email"),
)

# Trackback 1.2 pings received; moderated like comments.
trackbacks = Table(
    "trackbacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "reference_id",
        REFID,
        ForeignKey("cables.reference_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("url", String(2000), nullable=False),
    Column("title", String(300)),
    Column("excerpt", Text),
    Column("blog_name", String(300)),
    Column("status", String(16), nullable=False),
    Column("client", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("moderated_at", DateTime),
    Column("moderated_by", String(200)),
    Index(None, "reference_id", "status", "created_at"),
    Index(None, "status", "created_at"),
    Index(None, "client", "created_at"),
)

# Named secrets; "secret_key" (random, made by migration 0002) signs CSRF
# tokens and keys client hashes, shared by every app server of the database.
site_secrets = Table(
    "site_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# What editors did (release schedules, redactions, moderation, users).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("reference_id", REFID),
    Column("detail", Text),  # JSON
    Index(None, "at"),
    Index(None, "reference_id"),
)
