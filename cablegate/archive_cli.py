"""Archive commands of the ``cablegate`` CLI: ingest, db, history, diff, rejects,
show, stats, index. Registered on the main group by ``cli.py`` (``register``).

These are operators' and editors' tools: they read the raw archive (originals,
unreleased cables included). Public surfaces read ``cablegate.public`` only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

db_option = click.option(
    "--db",
    "db_url",
    envvar="CABLEGATE_DB",
    default=None,
    metavar="URL",
    help="Database URL (env CABLEGATE_DB; default sqlite:///cablegate.db).",
)
index_option = click.option(
    "--index",
    "index_dir",
    envvar="CABLEGATE_INDEX",
    default=None,
    metavar="DIR",
    help="Search index directory (env CABLEGATE_INDEX; default beside a SQLite file, "
    "else ./cablegate-index).",
)


def open_engine(db_url: str | None):
    from sqlalchemy.exc import SQLAlchemyError

    from .db import get_engine

    try:
        return get_engine(db_url)
    except (SQLAlchemyError, OSError) as err:
        raise click.ClickException(f"cannot open the database: {_one_line(err)}") from err


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300]


def _dump(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# --------------------------------------------------------------------------- ingest


@click.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@index_option
@click.option("--no-index", is_flag=True, help="Do not update the search index.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--batch", "batch_items", type=click.IntRange(1, None), default=None,
              help="Inputs per transaction (default: 500).")
@click.option("--jobs", "-j", type=click.IntRange(1, 32), default=None,
              help="Parse worker processes (default: one per core, at most 4).")
def ingest(paths, db_url, index_dir, no_index, quiet, batch_items, jobs) -> None:
    """Load the cables in PATHS (files, directories, - for stdin) into the archive.

    Idempotent; a changed text of a known cable becomes a new revision. Rejected
    inputs are recorded (see `cablegate rejects`) and make the exit status 1.
    """
    from .db import index_path
    from .ingest import ingest as run_ingest
    from .ingest import input_bytes, progress_display

    engine = open_engine(db_url)
    index = None
    if not no_index:
        from .indexer import open_index

        index = open_index(index_path(db_url, index_dir))
    display = progress_display(input_bytes(paths), quiet=quiet)
    try:
        summary = run_ingest(paths, engine, index=index, progress=display,
                             batch_items=batch_items, jobs=jobs)
    finally:
        if display is not None:
            display.close()
        if index is not None:
            index.close()
    for path, row, reason in summary.rejects[:20]:
        where = (path or "<input>") + ("" if row is None else f":row {row}")
        click.echo(f"error: {where}: {reason}", err=True)
    if summary.rejected > 20:
        click.echo(f"... and {summary.rejected - 20} more (cablegate rejects)", err=True)
    rate = summary.total / summary.seconds if summary.seconds else 0.0
    click.echo(f"{summary.line()} ({summary.total} inputs in {summary.seconds:.1f}s, "
               f"{rate:,.0f}/s)")
    sys.exit(1 if summary.rejected else 0)


# --------------------------------------------------------------------------- db


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@db_option
def db_upgrade(db_url) -> None:
    """Apply pending schema migrations (also done automatically on first use)."""
    from .db import current_revision, get_engine, upgrade

    engine = get_engine(db_url, upgrade=False)
    upgrade(engine)
    with engine.connect() as conn:
        click.echo(f"database schema at revision {current_revision(conn)}")


# --------------------------------------------------------------------------- history / diff


def _need_cable(conn, refid: str):
    from . import store

    row = store.get_cable(conn, refid)
    if row is None:
        raise click.ClickException(f"no cable {refid} in the archive")
    return row


@click.command()
@click.argument("refid")
@db_option
def history(refid, db_url) -> None:
    """List the revisions of cable REFID."""
    from . import store

    with open_engine(db_url).connect() as conn:
        row = _need_cable(conn, refid)
        for rev in store.list_revisions(conn, refid):
            mark = "*" if rev["revision"] == row.current_revision else " "
            where = rev["source_path"] or ""
            if rev["source_row"] is not None:
                where += f":row {rev['source_row']}"
            click.echo(
                f"{mark} {rev['revision']:>3}  ingested {rev['ingested_at']:%Y-%m-%d %H:%M}  "
                f"released {rev['released'] or '-':<16}  {rev['source_format'] or '-':<28}  "
                f"{rev['content_hash'][:12]}  {where}"
            )


@click.command()
@click.argument("refid")
@click.argument("rev_a", required=False, type=int)
@click.argument("rev_b", required=False, type=int)
@db_option
@click.option("--color/--no-color", default=None, help="Colour (default: on a terminal).")
def diff(refid, rev_a, rev_b, db_url, color) -> None:
    """Word-level diff of two revisions of REFID (default: the last two).

    Without colour, deletions print as [-...-] and insertions as {+...+}.
    """
    from . import store
    from .diffing import DELETE, INSERT, cable_text, render_plain, word_diff

    with open_engine(db_url).connect() as conn:
        row = _need_cable(conn, refid)
        if rev_a is None:
            if row.revision_count < 2:
                click.echo(f"{refid} has one revision only")
                return
            rev_a, rev_b = row.current_revision - 1, row.current_revision
        elif rev_b is None:
            rev_b = row.current_revision
        texts = []
        for rev in (rev_a, rev_b):
            record = store.get_record(conn, refid, rev)
            if record is None:
                raise click.ClickException(f"{refid} has no revision {rev}")
            texts.append(cable_text(record))
    pieces = word_diff(*texts)
    click.echo(f"--- {refid} revision {rev_a}\n+++ {refid} revision {rev_b}")
    if color is None:
        color = sys.stdout.isatty()
    if not color:
        click.echo(render_plain(pieces))
        return
    styles = {DELETE: {"fg": "red", "strikethrough": True}, INSERT: {"fg": "green"}}
    click.echo("".join(click.style(t, **styles[op]) if op in styles else t for op, t in pieces),
               color=True)


# --------------------------------------------------------------------------- rejects / show / stats


@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rejects(db_url, as_json) -> None:
    """List the inputs that could not be stored (path, row, reason)."""
    from . import store

    with open_engine(db_url).connect() as conn:
        rows = store.list_rejects(conn)
    if as_json:
        _dump([{k: r[k] for k in ("path", "row", "reason", "last_seen_at")} for r in rows])
        return
    for r in rows:
        where = (r["path"] or "<input>") + ("" if r["row"] is None else f":row {r['row']}")
        click.echo(f"{where}: {r['reason']}")
    click.echo(f"{len(rows)} rejected input(s)", err=True)


@click.command()
@click.argument("refid")
@db_option
@click.option("--json", "fmt", flag_value="json", help="Print the record with links as JSON.")
@click.option("--text", "fmt", flag_value="text", default=True, help="Print for reading (default).")
def show(refid, db_url, fmt) -> None:
    """Print cable REFID with its metadata, revisions and links (cites, cited by,
    references to cables not in the archive)."""
    from . import store

    with open_engine(db_url).connect() as conn:
        view = store.cable_view(conn, refid)
    if view is None:
        raise click.ClickException(f"no cable {refid} in the archive")
    if fmt == "json":
        _dump(view)
        return
    click.echo(_show_text(view))


def _show_text(v: dict) -> str:
    lines = [f"{v['reference_id']}: {v.get('subject') or '(no subject)'}", ""]
    for label, key in (("Created", "created"), ("Released", "released"),
                       ("Release at", "release_at"), ("Classification", "classification"),
                       ("Origin", "origin")):
        lines.append(f"{label + ':':<16}{v.get(key) or '-'}")
    lines.append(f"{'Tags:':<16}{', '.join(v.get('tags') or []) or '-'}")
    lines.append("")
    lines.append(f"Revisions ({len(v['revisions'])}, current {v['revision']}):")
    for r in v["revisions"]:
        lines.append(f"  {r['revision']:>3}  {r['ingested_at']}  {r['source_format'] or '-'}")
    lines.append("Cites:")
    lines += [f"  {c['reference_id']}" + ("" if c["in_archive"] else "  (not in the archive)")
              for c in v["cites"]] or ["  -"]
    lines.append("Cited by:")
    lines += [f"  {c['reference_id']}  {c['subject'] or ''}".rstrip()
              for c in v["cited_by"]] or ["  -"]
    if v["unresolved_references"]:
        lines.append("Not in the archive: " + ", ".join(v["unresolved_references"]))
    lines += ["", "-" * 72, v.get("header") or "", "-" * 72, v.get("body") or ""]
    return "\n".join(lines)


@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(db_url, as_json) -> None:
    """Counts: cables, revisions, by year, origin and classification."""
    from . import store

    with open_engine(db_url).connect() as conn:
        counts = store.stats(conn)
    if as_json:
        _dump(counts)
        return
    click.echo(f"cables: {counts['cables']:,}\nrevisions: {counts['revisions']:,}\n"
               f"rejected inputs: {counts['rejects']:,}")
    for key in ("by_year", "by_classification", "by_origin"):
        click.echo(f"\n{key.replace('_', ' ')}:")
        items = list(counts[key].items())
        for value, n in items[:30]:
            click.echo(f"  {value:<40} {n:>8,}")
        if len(items) > 30:
            click.echo(f"  ... {len(items) - 30} more (--json for all)")


# --------------------------------------------------------------------------- index


@click.group("index")
def index_group() -> None:
    """The search index (derived from the database)."""


@index_group.command("rebuild")
@db_option
@index_option
def index_rebuild(db_url, index_dir) -> None:
    """Rebuild the search index from the database (public cables only)."""
    from .db import index_path
    from .indexer import rebuild

    path = index_path(db_url, index_dir)
    counts = rebuild(open_engine(db_url), path)
    click.echo(f"index {path}: {counts['documents']:,} public cables")


@index_group.command("sync")
@db_option
@index_option
def index_sync(db_url, index_dir) -> None:
    """Bring the search index up to date with the database and the clock."""
    from .db import index_path
    from .indexer import open_index, sync_index

    path = index_path(db_url, index_dir)
    index = open_index(path)
    try:
        counts = sync_index(open_engine(db_url), index)
    finally:
        index.close()
    click.echo(f"index {path}: {counts['changes']:,} changes applied, "
               f"{counts['upserted']:,} upserted, {counts['deleted']:,} deleted")


COMMANDS = (ingest, db_group, history, diff, rejects, show, stats, index_group)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
