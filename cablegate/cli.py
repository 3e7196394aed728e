"""The ``cablegate`` command line."""

from __future__ import annotations

import sys

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cablegate")
def cli() -> None:
    """Publish an archive of diplomatic cables: parse, store, search, serve, discuss."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--report", is_flag=True,
              help="Print per-field coverage and per-format counts instead of records.")
def parse(paths: tuple[str, ...], report: bool) -> None:
    """Parse cables in PATHS (files, directories, - for stdin) and print JSON Lines.

    Bad inputs are reported on stderr, one line each; the exit status is 1 when
    anything was rejected.
    """
    from .errors import ParseError
    from .parse import parse_inputs
    from .record import to_json
    from .report import Coverage

    coverage = Coverage()
    rejected = 0
    out = sys.stdout
    for item in parse_inputs(paths):
        if isinstance(item, ParseError):
            rejected += 1
            click.echo(f"error: {item.message}", err=True)
            continue
        coverage.add(item)
        if not report:
            out.write(to_json(item) + "\n")
    if report:
        click.echo(coverage.render(rejected=rejected))
    sys.exit(1 if rejected else 0)


# Archive commands (ingest, db, history, diff, rejects, show, stats, index): archive_cli.py.
from .archive_cli import register as _register_archive_commands  # noqa: E402

_register_archive_commands(cli)

# `cablegate search`: search_cli.py.
from .search_cli import search as _search_command  # noqa: E402

cli.add_command(_search_command)

# Site commands (serve, demo, export, export-site): web/commands.py.
from .web.commands import register as _register_site_commands  # noqa: E402

_register_site_commands(cli)

# Publishing commands (user, release): publishing_cli.py.
from .publishing_cli import register as _register_publishing_commands  # noqa: E402

_register_publishing_commands(cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
