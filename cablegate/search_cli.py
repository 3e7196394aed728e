"""``cablegate search``: the query language on the command line (registered by cli.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .archive_cli import db_option, index_option
from .search import MAX_LIMIT, SORTS, SearchHit, SearchResult

FACET_LABELS = {
    "origin": "Origin",
    "classification": "Classification",
    "tag": "Tag",
    "year": "Year",
}
FACETS_SHOWN = 8


@click.command()
@click.argument("query")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (total, results, facets, histogram).",
)
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(0, MAX_LIMIT),
    help="Results to show.",
)
@click.option(
    "--offset",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Results to skip (no cap).",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="created = oldest first, -created = newest first, released = earliest release first.",
)
@click.option(
    "--no-sync",
    is_flag=True,
    help="Search the index as it is, without first catching up with the database.",
)
@db_option
@index_option
def search(
    query: str,
    as_json: bool,
    limit: int,
    offset: int,
    sort: str,
    no_sync: bool,
    db_url: str | None,
    index_dir: str | None,
) -> None:
    """Search the public archive. QUERY uses the language of docs/search.md, e.g.

        cablegate search 'iran "nuclear program" -tag:PREL from:2008'

    Exit status 2 when the query is not valid (the message says what and where).
    """
    from .db import index_path
    from .query import QuerySyntaxError
    from .search import SearchIndex, SearchIndexError

    path = index_path(db_url, index_dir)
    if not SearchIndex.exists(path):
        raise click.ClickException(
            f"no search index at {path}: run `cablegate ingest` or `cablegate index rebuild` first"
        )
    try:
        index = SearchIndex(path)
    except SearchIndexError as err:
        raise click.ClickException(str(err)) from err
    if not no_sync:
        _catch_up(db_url, index)
    try:
        result = index.search(query, limit=limit, offset=offset, sort=sort)
    except QuerySyntaxError as err:
        click.echo(f"error: invalid query: {err}", err=True)
        click.echo(f"  {query}", err=True)
        click.echo("  " + " " * err.position + "^", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render(result))


def _catch_up(db_url: str | None, index) -> None:
    """Apply the database's changes (and releases due) the index has not seen yet.

    Nothing to do when the index is current; skipped when another process is
    writing the index (an ingest: it brings it up to date) or, with a note, when
    the database cannot be reached. Never creates a database.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from .db import database_url, get_engine, is_sqlite
    from .indexer import sync_if_due

    url = database_url(db_url)
    if is_sqlite(url) and not Path(make_url(url).database or "").is_file():
        return
    try:
        sync_if_due(get_engine(url), index)
    except (SQLAlchemyError, OSError) as err:
        reason = " ".join(str(err).split())[:200]
        click.echo(
            f"note: cannot reach the database ({reason}); searching the index as it is", err=True
        )


def _highlighted(hit: SearchHit) -> str:
    out, cursor = [], 0
    for start, end in hit.highlights:
        out.append(hit.snippet_text[cursor:start])
        out.append(click.style(hit.snippet_text[start:end], bold=True, fg="yellow"))
        cursor = end
    out.append(hit.snippet_text[cursor:])
    return "".join(out)


def render(result: SearchResult) -> str:
    """The readable listing: total, ranked results with snippets, top facets."""
    total = result.total
    noun = "cable matches" if total == 1 else "cables match"
    lines = [f"{total:,} {noun} {result.query!r}"]
    if result.results:
        first = result.offset + 1
        lines[0] += (
            f" (showing {first:,}-{result.offset + len(result.results):,}, by {result.sort})"
        )
    elif total and result.offset >= total:
        lines[0] += f" (nothing at offset {result.offset:,})"
    lines.append("")
    for rank, hit in enumerate(result.results, start=result.offset + 1):
        meta = " · ".join(
            v
            for v in (hit.reference_id, (hit.created or "")[:10], hit.origin, hit.classification)
            if v
        )
        lines.append(f"{rank:>4}. {click.style(meta, bold=True)}")
        if hit.subject:
            lines.append(f"      {hit.subject}")
        if hit.snippet_text:
            lines.append(f"      {_highlighted(hit)}")
        lines.append("")
    for kind, label in FACET_LABELS.items():
        values = result.facets.get(kind) or {}
        if values:
            shown = list(values.items())[:FACETS_SHOWN]
            more = len(values) - len(shown)
            text = ", ".join(f"{value} ({count:,})" for value, count in shown)
            lines.append(f"{label}: {text}" + (f", +{more} more" if more > 0 else ""))
    return "\n".join(lines).rstrip()
