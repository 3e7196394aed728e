"""Publishing commands of the ``cablegate`` CLI: ``user`` and ``release``.

Registered on the main group by ``cli.py`` (``register``). Operators' tools:
they work on the raw archive (accounts, release times of unreleased cables).

    cablegate user add NAME --role editor|admin [--password-stdin]
    cablegate user list | passwd NAME | disable NAME | enable NAME
    cablegate release --at "YYYY-MM-DD HH:MM" (REFID... | --query QUERY) [--dry-run]
    cablegate redact REFID (--text TEXT [--occurrence N] | --start S --end E) --reason R
    cablegate redact REFID --list
    cablegate unredact REFID [--id N]...
"""

from __future__ import annotations

import sys

import click

from .archive_cli import db_option, index_option, open_engine


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or prompted twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


# --------------------------------------------------------------------------- user


@click.group()
def user() -> None:
    """Manage editors' and admins' accounts (readers need none)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["editor", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@db_option
def user_add(name: str, role: str, password_stdin: bool, db_url: str | None) -> None:
    """Add the account NAME; the password is prompted (twice, hidden)."""
    from .accounts import AccountError, create_user
    from .db import writing

    engine = open_engine(db_url)
    password = _read_password(password_stdin)
    try:
        with writing(engine) as conn:
            created = create_user(conn, name, password, role, by="cli")
    except AccountError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"added {created.role} {created.username}")


@user.command("list")
@db_option
def user_list(db_url: str | None) -> None:
    """List accounts."""
    from .accounts import list_users

    with open_engine(db_url).connect() as conn:
        for row in list_users(conn):
            state = "disabled" if row["disabled_at"] else "active"
            last = row["last_login_at"].strftime("%Y-%m-%d %H:%M") if row["last_login_at"] else "-"
            click.echo(f"{row['username']}\t{row['role']}\t{state}\tlast login {last}")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@db_option
def user_passwd(name: str, password_stdin: bool, db_url: str | None) -> None:
    """Set NAME's password (its sessions end)."""
    from .accounts import AccountError, set_password
    from .db import writing

    engine = open_engine(db_url)
    password = _read_password(password_stdin)
    try:
        with writing(engine) as conn:
            set_password(conn, name, password, by="cli")
    except AccountError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"password of {name} changed")


def _set_disabled(name: str, disabled: bool, db_url: str | None) -> None:
    from .accounts import AccountError, set_disabled
    from .db import writing

    try:
        with writing(open_engine(db_url)) as conn:
            set_disabled(conn, name, disabled, by="cli")
    except AccountError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{name} {'disabled' if disabled else 'enabled'}")


@user.command("disable")
@click.argument("name")
@db_option
def user_disable(name: str, db_url: str | None) -> None:
    """Disable NAME (no login; its sessions end)."""
    _set_disabled(name, True, db_url)


@user.command("enable")
@click.argument("name")
@db_option
def user_enable(name: str, db_url: str | None) -> None:
    """Enable NAME again."""
    _set_disabled(name, False, db_url)


# --------------------------------------------------------------------------- release


@click.command()
@click.argument("refids", nargs=-1)
@click.option("--at", "at_text", required=True, metavar='"YYYY-MM-DD HH:MM"',
              help="Release time, UTC (or ISO 8601 with an offset).")
@click.option("--query", default=None, metavar="QUERY",
              help="Every cable matching this search query (over the original texts of all "
                   "cables, released or not) instead of REFIDs.")
@click.option("--unreleased", is_flag=True, help="Only cables not released yet.")
@click.option("--dry-run", is_flag=True, help="Show the batch; change nothing.")
@click.option("--by", default="cli", show_default=True, help="Editor name for the audit log.")
@click.option("--list", "list_all", is_flag=True, help="List every cable of the batch.")
@db_option
def release(refids, at_text, query, unreleased, dry_run, by, list_all, db_url) -> None:
    """Schedule the release of REFID... (or of --query's result set) at --at.

    A cable is public from its release time on; before it, it does not exist
    for the public. A time in the past releases at once; a future time on a
    released cable withdraws it until then. Unknown IDs change nothing and
    make the exit status 1.
    """
    from .db import utcnow
    from .publishing import PublishingError, apply_release, describe, parse_release_time
    from .publishing import plan_release as make_plan
    from .query import QuerySyntaxError

    engine = open_engine(db_url)
    now = utcnow()
    try:
        at = parse_release_time(at_text)
        plan = make_plan(engine, at, refids=list(refids), query=query,
                         unreleased_only=unreleased, now=now)
    except QuerySyntaxError as err:
        raise click.ClickException(f"invalid query: {err}") from None
    except PublishingError as err:
        raise click.UsageError(str(err)) from None
    click.echo(describe(plan, now))
    for cable in plan.cables if list_all else plan.cables[:20]:
        state = "public" if cable["public"] else "embargoed"
        click.echo(f"  {cable['reference_id']}\t{cable['release_at']:%Y-%m-%d %H:%M}\t{state}"
                   f"\t{(cable['subject'] or '')[:70]}")
    if not list_all and len(plan.cables) > 20:
        click.echo(f"  ... and {len(plan.cables) - 20} more (--list shows all)")
    if plan.missing:
        click.echo("not in the archive: " + " ".join(plan.missing), err=True)
        click.echo("nothing changed", err=True)
        sys.exit(1)
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    done = apply_release(engine, plan, by=by, now=now)
    click.echo(f"scheduled {done} cable(s) for {at:%Y-%m-%d %H:%M} UTC")


# --------------------------------------------------------------------------- redactions

INDEX_SYNC_SECONDS = 30.0


def _sync_search_index(engine, db_url: str | None, index_dir: str | None) -> None:
    """Apply the change to the public search index now (as the admin pages do),
    so no search shows a redacted word after the command returns."""
    from .db import index_path
    from .indexer import open_index, wait_until_current
    from .search import SearchIndex

    path = index_path(db_url, index_dir)
    if not SearchIndex.exists(path):
        return  # no index yet: whoever builds it reads through the gate
    if not wait_until_current(engine, open_index(path), INDEX_SYNC_SECONDS):
        raise click.ClickException(
            "the change is stored and every page shows it, but the search index "
            "could not be updated (another process holds it); run `cablegate index sync`"
        )
    click.echo(f"search index {path} updated")


def _print_redactions(engine, refid: str) -> None:
    from .publishing import list_redactions

    with engine.connect() as conn:
        rows = list_redactions(conn, refid)
    if not rows:
        click.echo(f"{refid}: no redactions")
    for row in rows:
        lifted = row["lifted_at"]
        state = "active" if lifted is None else f"lifted {lifted:%Y-%m-%d %H:%M}"
        where = ("" if row["start_offset"] is None
                 else f" {row['field']} {row['start_offset']}-{row['end_offset']}")
        click.echo(f"{row['id']}\t{state}\t{row['created_by']}{where}\t"
                   f"{row['span_text']!r}\t{row['reason']}")


@click.command()
@click.argument("refid")
@click.option("--text", default=None, help="The words to redact (case and line breaks ignored).")
@click.option("--occurrence", default=1, show_default=True, type=click.IntRange(min=1),
              help="Which match of --text, counting from 1.")
@click.option("--start", type=click.IntRange(min=0), default=None,
              help="Start offset in --field (instead of --text).")
@click.option("--end", type=click.IntRange(min=0), default=None, help="End offset (exclusive).")
@click.option("--field", type=click.Choice(["body", "header"]), default="body", show_default=True)
@click.option("--reason", default=None, help="Why (kept in the audit log; required to redact).")
@click.option("--by", default="cli", show_default=True, help="Editor name for the audit log.")
@click.option("--list", "list_only", is_flag=True, help="List the cable's redactions only.")
@db_option
@index_option
def redact(refid, text, occurrence, start, end, field, reason, by, list_only, db_url,
           index_dir) -> None:
    """Redact a span of REFID: the public sees XXXXXXXXXXXX in its place everywhere
    (pages, search, feeds, API, exports); editors still see the original.

    The span is widened to whole words; every other occurrence of the same words
    in the cable is redacted too (the gate matches text, not offsets).
    """
    from .publishing import PublishingError, add_redaction, occurrences

    engine = open_engine(db_url)
    if list_only:
        _print_redactions(engine, refid)
        return
    if text is None and (start is None or end is None):
        raise click.UsageError("give --text, or --start and --end")
    if not (reason or "").strip():
        raise click.UsageError("give a --reason")
    try:
        new_id, span = add_redaction(engine, refid, reason=reason, by=by, field=field,
                                     start=start, end=end, text=text, occurrence=occurrence)
    except PublishingError as err:
        raise click.ClickException(str(err)) from None
    from .store import get_record

    with engine.connect() as conn:
        counts = occurrences(get_record(conn, refid) or {}, span.text)
    click.echo(f"redaction {new_id} on {refid}: {span.field} {span.start}-{span.end} "
               f"{span.text!r} ({counts['total']} occurrence(s) redacted"
               + (f", {counts['inside_words']} inside longer words" if counts["inside_words"]
                  else "") + ")")
    _sync_search_index(engine, db_url, index_dir)


@click.command()
@click.argument("refid")
@click.option("--id", "ids", type=int, multiple=True,
              help="A redaction to lift (repeatable; default: every active one).")
@click.option("--by", default="cli", show_default=True, help="Editor name for the audit log.")
@db_option
@index_option
def unredact(refid, ids, by, db_url, index_dir) -> None:
    """Lift redactions of REFID; a public cable gets its original text as a new revision."""
    from .publishing import PublishingError
    from .publishing import unredact as lift

    engine = open_engine(db_url)
    try:
        done = lift(engine, refid, list(ids) or None, by=by)
    except PublishingError as err:
        raise click.ClickException(str(err)) from None
    lifted = ", ".join(map(str, done.lifted))
    click.echo(f"lifted redaction(s) {lifted} of {refid}"
               + (f"; revision {done.revision} published" if done.revision else ""))
    _sync_search_index(engine, db_url, index_dir)


def register(cli: click.Group) -> None:
    cli.add_command(user)
    cli.add_command(release)
    cli.add_command(redact)
    cli.add_command(unredact)
