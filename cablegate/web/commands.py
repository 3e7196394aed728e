"""Site commands of the ``cablegate`` CLI: serve, demo, export, export-site.

Registered on the main group by ``cablegate/cli.py`` (``register``). They read
the archive through the public gate only (``cablegate.public.PublicArchive``).
"""

from __future__ import annotations

import sys

import click

DEMO_DB = "sqlite:///cablegate-demo.db"

# One definition of the shared options: the archive commands'.
from ..archive_cli import db_option, index_option  # noqa: E402


def _serve_options(func):
    func = click.option("--host", default="127.0.0.1", show_default=True)(func)
    func = click.option("--port", default=8000, show_default=True, type=int)(func)
    func = click.option(
        "--workers",
        default=1,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Worker processes (several need PostgreSQL or a read-mostly SQLite file).",
    )(func)
    func = click.option(
        "--base-url",
        default="",
        metavar="URL",
        help="Public address of the site (absolute links in share texts "
        "and feeds); default: the request's host.",
    )(func)
    return func


@click.command()
@db_option
@index_option
@_serve_options
def serve(db_url, index_dir, host, port, workers, base_url) -> None:
    """Publish the archive: the Cable Viewer site, its JSON API and feeds (uvicorn)."""
    from .serve import serve as run

    click.echo(f"Serving the archive at http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    run(db_url, index_dir, host=host, port=port, workers=workers, base_url=base_url)


@click.command()
@click.option(
    "--count",
    default=300,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Number of synthetic cables.",
)
@click.option("--seed", default=2010, show_default=True, type=int)
@click.option(
    "--db",
    "db_url",
    default=DEMO_DB,
    show_default=True,
    metavar="URL",
    help="Database to build the demo archive in.",
)
@index_option
@click.option("--no-serve", is_flag=True, help="Build the archive and exit.")
@_serve_options
def demo(count, seed, db_url, index_dir, no_serve, host, port, workers, base_url) -> None:
    """Build a demo archive of SYNTHETIC cables and serve it.

    The cables are generated (realistic telegram format, invented content, each
    labelled "SYNTHETIC DEMO CABLE"), parsed and ingested like real ones.
    Re-running with the same options reuses the archive (ingest is idempotent).
    """
    from ..db import get_engine, index_path
    from ..demo import build_demo
    from ..indexer import open_index

    engine = get_engine(db_url)
    index = open_index(index_path(db_url, index_dir))
    try:
        counts = build_demo(engine, index, count=count, seed=seed)
    finally:
        index.close()
    click.echo(
        f"Demo archive {db_url}: {counts['cables']} synthetic cables "
        f"({counts['revised']} with a second revision)",
        err=True,
    )
    if no_serve:
        return
    from .serve import serve as run

    click.echo(f"Serving it at http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    run(db_url, index_dir, host=host, port=port, workers=workers, base_url=base_url)


@click.command()
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Output file (- for stdout).",
)
def export(db_url, fmt, output) -> None:
    """Export every released cable (public text) as JSON Lines or CSV."""
    from ..db import get_engine
    from ..export import export_records
    from ..public import PublicArchive

    archive = PublicArchive(get_engine(db_url), None)
    if output == "-":
        count = export_records(archive, sys.stdout, fmt)
    else:
        with open(output, "w", encoding="utf-8", newline="") as out:
            count = export_records(archive, out, fmt)
    click.echo(f"exported {count} cables", err=True)


@click.command("export-site")
@click.argument("directory")
@db_option
@click.option(
    "--base-url",
    default="",
    metavar="URL",
    help="Address the mirror will be served at (for feeds and share links).",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes rendering pages.",
)
@click.option("--quiet", "-q", is_flag=True)
def export_site(directory, db_url, base_url, workers, quiet) -> None:
    """Write the public site as static files in DIRECTORY, at the same URLs.

    Incremental: a file is rewritten only when its content changed, and files
    of pages that no longer exist (e.g. a cable withdrawn) are removed.
    """
    from ..export import export_site as run

    stats = run(
        directory,
        db_url=db_url,
        base_url=base_url,
        workers=workers,
        progress=None if quiet else click.echo,
    )
    click.echo(
        f"export-site {directory}: {stats['files']} files, {stats['written']} written, "
        f"{stats['unchanged']} unchanged, {stats['removed']} removed in {stats['seconds']:.1f} s",
        err=True,
    )


def register(cli: click.Group) -> None:
    for command in (serve, demo, export, export_site):
        cli.add_command(command)
