"""Readers' discussion of each cable: comments and Trackback 1.2 pings.

As on the blogs that re-posted the cables (see the end of the seed page): a
comment has a name, an e-mail address (kept for the moderators, never shown),
an optional website and a text. A first-time commenter's comment waits in the
moderation queue (approve / reject / spam); once a name + address has an
approved comment, that commenter's next comments are published at once. A
hidden honeypot field stops simple bots; posts are throttled per client (a
keyed hash of the address) and every field is length-limited.

Trackbacks (http://www.sixapart.com/pronet/docs/trackback_spec): another site
POSTs ``url``, ``title``, ``excerpt`` and ``blog_name`` to the cable's
Trackback URL and gets ``<response><error>0</error></response>`` (or error 1
with a message); every trackback waits for moderation.

Public reads never come here directly: ``PublicArchive.discussion`` and
``PublicArchive.latest_comments`` (the gate) call ``approved_discussion`` /
``latest_approved_comments`` only for released cables and apply the cable's
redactions to what readers wrote as well. Any change to what the public sees
(a comment published, unpublished or deleted) appends a ``discussion`` row to
the ``changes`` log in the same transaction, so cached cable pages follow.

Text is stored as written and escaped when rendered (``comment_html``): links
(http and https only) become ``rel="nofollow ugc"`` anchors, and paragraph
references ("#par5", "¶5", "para 5", "paragraph 5") link to that paragraph of
the cable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from markupsafe import Markup
from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, text, update

from . import store
from .accounts import audit, parse_limits
from .db import utcnow, writing
from .schema import cables, comments, trackbacks

STATUSES = ("pending", "approved", "rejected", "spam")
ACTIONS = {"approve": "approved", "reject": "rejected", "spam": "spam", "unapprove": "pending"}
KINDS = ("comment", "trackback")

MAX_NAME = 100
MAX_EMAIL = 254
MAX_URL = 300
MAX_BODY = 5000
MAX_TRACKBACK_URL = 2000
MAX_TITLE = 300
MAX_EXCERPT = 1000
MAX_BLOG_NAME = 300
EXCERPT_SHOWN = 255  # the Trackback spec's suggested excerpt length

HONEYPOT = "comment_subject"
COMMENT_LIMITS = parse_limits(os.environ.get("CABLEGATE_COMMENT_LIMIT"), ((3, 60), (20, 3600)))
TRACKBACK_LIMITS = parse_limits(os.environ.get("CABLEGATE_TRACKBACK_LIMIT"), ((5, 3600),))
FEED_SIZE = 50

_EMAIL_RE = re.compile(
    r"[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many posts from this address; try again in {retry_after} s")
        self.retry_after = retry_after


class NotPublic(Exception):
    """The cable does not exist for the public (unknown, or not released yet)."""


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class CommentInput:
    name: str
    email: str
    url: str | None
    body: str


@dataclass(frozen=True)
class TrackbackInput:
    url: str
    title: str | None
    excerpt: str | None
    blog_name: str | None


def clean_text(value: Any, *, multiline: bool = False) -> str:
    """A form value as text: control characters removed, newlines normalised."""
    if not isinstance(value, str):
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


def normalize_url(value: str, max_length: int = MAX_URL) -> str:
    """An http(s) URL, or ValueError. A bare host ("example.org/x") gets http://."""
    url = value.strip()
    if url and "://" not in url:
        url = "http://" + url
    if len(url) > max_length:
        raise ValueError(f"at most {max_length} characters")
    if any(c.isspace() for c in url) or any(c in url for c in '<>"\'`\\'):
        raise ValueError("not a valid web address")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or parts.username:
        raise ValueError("only http:// and https:// addresses")
    try:
        parts.port  # noqa: B018 - raises for "http://javascript:alert(1)"
    except ValueError:
        raise ValueError("only http:// and https:// addresses") from None
    return url


def validate_comment(form: Mapping[str, Any]) -> tuple[CommentInput | None, dict[str, str]]:
    """(input, {}) for a valid comment form, else (None, {field: problem})."""
    errors: dict[str, str] = {}
    name = clean_text(form.get("name"))
    email = clean_text(form.get("email")).lower()
    website = clean_text(form.get("website"))
    body = clean_text(form.get("comment"), multiline=True)
    if not name:
        errors["name"] = "Please give a name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"A name has at most {MAX_NAME} characters."
    if not email:
        errors["email"] = "Please give an e-mail address (it is never shown)."
    elif len(email) > MAX_EMAIL or not _EMAIL_RE.fullmatch(email):
        errors["email"] = "This is not an e-mail address."
    url = None
    if website:
        try:
            url = normalize_url(website)
        except ValueError as err:
            errors["website"] = f"Website: {err}."
    if not body:
        errors["comment"] = "The comment is empty."
    elif len(body) > MAX_BODY:
        errors["comment"] = f"A comment has at most {MAX_BODY:,} characters ({len(body):,} sent)."
    if errors:
        return None, errors
    return CommentInput(name, email, url, body), {}


def validate_trackback(form: Mapping[str, Any]) -> TrackbackInput:
    """The ping's fields, or ValueError saying what is wrong (Trackback error 1)."""
    raw_url = clean_text(form.get("url"))
    if not raw_url:
        raise ValueError("the url parameter is required")
    if "://" not in raw_url:
        raise ValueError("url must be an absolute http:// or https:// address")
    try:
        url = normalize_url(raw_url, MAX_TRACKBACK_URL)
    except ValueError as err:
        raise ValueError(f"url: {err}") from None
    title = clean_text(form.get("title"))[:MAX_TITLE] or None
    excerpt = clean_text(form.get("excerpt"), multiline=True)[:MAX_EXCERPT] or None
    blog_name = clean_text(form.get("blog_name"))[:MAX_BLOG_NAME] or None
    return TrackbackInput(url, title, excerpt, blog_name)


def honeypot_filled(form: Mapping[str, Any]) -> bool:
    value = form.get(HONEYPOT)
    return isinstance(value, str) and value.strip() != ""


# --------------------------------------------------------------------------- writing


def _throttle(conn: Connection, table: Any, client: str, now: datetime,
              limits: Sequence[tuple[int, int]]) -> None:
    """Raise Throttled when ``client`` posted too much in any window."""
    if conn.dialect.name == "postgresql":
        # Serialise one client's posts, so concurrent ones cannot all pass the count.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"{table.name}:{client}"})
    for count, seconds in limits:
        since = now - timedelta(seconds=seconds)
        recent = conn.execute(
            select(table.c.created_at).where(table.c.client == client, table.c.created_at > since)
            .order_by(table.c.created_at).limit(count)
        ).scalars().all()
        if len(recent) >= count:
            raise Throttled(max(1, int((recent[0] + timedelta(seconds=seconds) - now)
                                       .total_seconds()) + 1))


def _is_trusted(conn: Connection, item: CommentInput) -> bool:
    """An approved commenter: this name + address has an approved comment and no spam."""
    rows = conn.execute(
        select(comments.c.status).where(
            comments.c.author_email == item.email,
            func.lower(comments.c.author_name) == item.name.lower(),
            comments.c.status.in_(("approved", "spam")),
        ).limit(50)
    ).scalars().all()
    return "approved" in rows and "spam" not in rows


@dataclass(frozen=True)
class Posted:
    id: int
    status: str


def submit_comment(
    engine: Engine,
    archive: Any,
    reference_id: str,
    item: CommentInput,
    client: str,
    *,
    now: datetime | None = None,
    limits: Sequence[tuple[int, int]] = COMMENT_LIMITS,
) -> Posted:
    """Store a reader's comment (one transaction). Raises NotPublic when the cable
    does not exist for the public, Throttled when this client posts too much."""
    now = now or utcnow()
    with writing(engine) as conn:
        if not archive.is_public(reference_id, conn=conn):
            raise NotPublic(reference_id)
        _throttle(conn, comments, client, now, limits)
        status = "approved" if _is_trusted(conn, item) else "pending"
        new_id = conn.execute(insert(comments).values(
            reference_id=reference_id, author_name=item.name, author_email=item.email,
            author_url=item.url, body=item.body, status=status, client=client, created_at=now,
        )).inserted_primary_key[0]
        if status == "approved":
            store.log_changes(conn, [(reference_id, "discussion")], now)
    return Posted(int(new_id), status)


def submit_trackback(
    engine: Engine,
    archive: Any,
    reference_id: str,
    item: TrackbackInput,
    client: str,
    *,
    now: datetime | None = None,
    limits: Sequence[tuple[int, int]] = TRACKBACK_LIMITS,
) -> Posted:
    """Store a trackback ping for moderation (same rules as ``submit_comment``).
    A repeated ping (same cable and URL, still waiting or published) is not stored twice."""
    now = now or utcnow()
    with writing(engine) as conn:
        if not archive.is_public(reference_id, conn=conn):
            raise NotPublic(reference_id)
        known = conn.execute(
            select(trackbacks.c.id, trackbacks.c.status).where(
                trackbacks.c.reference_id == reference_id, trackbacks.c.url == item.url,
                trackbacks.c.status.in_(("pending", "approved")),
            )
        ).first()
        if known is not None:
            return Posted(known.id, known.status)
        _throttle(conn, trackbacks, client, now, limits)
        new_id = conn.execute(insert(trackbacks).values(
            reference_id=reference_id, url=item.url, title=item.title, excerpt=item.excerpt,
            blog_name=item.blog_name, status="pending", client=client, created_at=now,
        )).inserted_primary_key[0]
    return Posted(int(new_id), "pending")


def _table(kind: str) -> Any:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use comment or trackback")
    return comments if kind == "comment" else trackbacks


def moderate(
    engine: Engine, kind: str, ids: Sequence[int], action: str, *, by: str,
    now: datetime | None = None,
) -> int:
    """Approve / reject / mark as spam / unapprove / delete comments or trackbacks.

    Returns how many changed. Cables whose public discussion changes get a
    ``discussion`` row in the change log (same transaction).
    """
    now = now or utcnow()
    table = _table(kind)
    if action != "delete" and action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    ids = [int(i) for i in ids][:1000]
    if not ids:
        return 0
    with writing(engine) as conn:
        rows = conn.execute(select(table.c.id, table.c.reference_id, table.c.status)
                            .where(table.c.id.in_(ids))).all()
        if action == "delete":
            conn.execute(delete(table).where(table.c.id.in_([r.id for r in rows])))
            changed = rows
            visible = [r for r in rows if r.status == "approved"]
        else:
            status = ACTIONS[action]
            changed = [r for r in rows if r.status != status]
            if changed:
                conn.execute(update(table).where(table.c.id.in_([r.id for r in changed]))
                             .values(status=status, moderated_at=now, moderated_by=by[:200]))
            visible = [r for r in changed if "approved" in (r.status, status)]
        refids = sorted({r.reference_id for r in visible})
        store.log_changes(conn, [(r, "discussion") for r in refids], now)
        for row in changed:
            audit(conn, by, f"{kind}.{action}", row.reference_id, {"id": row.id}, now)
    return len(changed)


# --------------------------------------------------------------------------- moderators' reads


def queue(
    engine: Engine, kind: str, status: str = "pending", *, limit: int = 100, offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[dict]]:
    """(total, items) of one status, newest first, for the moderation page."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    now = now or utcnow()
    table = _table(kind)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(table)
                             .where(table.c.status == status)).scalar_one()
        rows = conn.execute(
            select(table, cables.c.subject, cables.c.created.label("cable_created"),
                   cables.c.release_at)
            .join(cables, cables.c.reference_id == table.c.reference_id)
            .where(table.c.status == status)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit).offset(offset)
        ).all()
    return total, [dict(r._mapping) | {"public": r.release_at <= now} for r in rows]


def status_counts(engine: Engine) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for kind in KINDS:
            table = _table(kind)
            counts = dict.fromkeys(STATUSES, 0)
            for status, n in conn.execute(select(table.c.status, func.count())
                                          .group_by(table.c.status)):
                counts[status] = n
            out[kind] = counts
    return out


# --------------------------------------------------------------------------- public reads (gate)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def approved_discussion(
    conn: Connection, reference_id: str, redact: Callable[[str], str], cable_url: str
) -> dict[str, list[dict]]:
    """Approved comments and trackbacks of one cable, oldest first, as shown to
    readers. Only ``PublicArchive.discussion`` calls this, for a public cable."""
    comment_rows = conn.execute(
        select(comments.c.id, comments.c.author_name, comments.c.author_url,
               comments.c.body, comments.c.created_at)
        .where(comments.c.reference_id == reference_id, comments.c.status == "approved")
        .order_by(comments.c.created_at, comments.c.id)
    ).all()
    trackback_rows = conn.execute(
        select(trackbacks.c.id, trackbacks.c.url, trackbacks.c.title, trackbacks.c.excerpt,
               trackbacks.c.blog_name, trackbacks.c.created_at)
        .where(trackbacks.c.reference_id == reference_id, trackbacks.c.status == "approved")
        .order_by(trackbacks.c.created_at, trackbacks.c.id)
    ).all()
    return {
        "comments": [public_comment(r, reference_id, redact, cable_url) for r in comment_rows],
        "trackbacks": [public_trackback(r, redact) for r in trackback_rows],
    }


def public_comment(row: Any, reference_id: str, redact: Callable[[str], str],
                   cable_url: str) -> dict:
    """A comment as readers see it: no e-mail, no client, redactions applied."""
    body = redact(row.body)
    url = row.author_url
    if url and redact(url) != url:
        url = None  # a website naming a redacted word is not linked
    return {
        "id": row.id,
        "reference_id": reference_id,
        "name": redact(row.author_name),
        "website": url,
        "created": _time(row.created_at),
        "text": body,
        "html": comment_html(body, cable_url),
        "url": f"{cable_url}#comment-{row.id}",
    }


def public_trackback(row: Any, redact: Callable[[str], str]) -> dict:
    excerpt = redact(row.excerpt or "")
    if len(excerpt) > EXCERPT_SHOWN:
        excerpt = excerpt[: EXCERPT_SHOWN - 1].rstrip() + "\u2026"
    url = row.url
    return {
        "id": row.id,
        "url": None if redact(url) != url else url,
        "title": redact(row.title or "") or None,
        "excerpt": excerpt or None,
        "blog_name": redact(row.blog_name or "") or None,
        "created": _time(row.created_at),
    }


def latest_approved_comments(conn: Connection, released: Any, limit: int) -> list[Any]:
    """Rows of the newest approved comments on cables matching ``released`` (the
    gate's release clause). Only ``PublicArchive.latest_comments`` calls this."""
    return conn.execute(
        select(comments.c.id, comments.c.reference_id, comments.c.author_name,
               comments.c.author_url, comments.c.body, comments.c.created_at,
               cables.c.created.label("cable_created"))
        .join(cables, cables.c.reference_id == comments.c.reference_id)
        .where(comments.c.status == "approved", released)
        .order_by(comments.c.created_at.desc(), comments.c.id.desc())
        .limit(max(0, min(limit, 500)))
    ).all()


# --------------------------------------------------------------------------- rendering


_URL = r"https?://[^\s<>\"'`\x00-\x1f]+"
_PARAGRAPH = r"(?:\u00b6\s?|#par|\bpara(?:graph)?\.?\s)(?P<number>\d{1,3})\b"
_LINKABLE = re.compile(f"(?P<url>{_URL})|(?P<par>{_PARAGRAPH})", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def _link_line(line: str, cable_url: str) -> str:
    out: list[str] = []
    last = 0
    for match in _LINKABLE.finditer(line):
        start, end = match.span()
        if match.group("url"):
            url = match.group("url")
            while url and url[-1] in _TRAILING and not (url[-1] == ")" and "(" in url):
                url = url[:-1]
            end = start + len(url)
            if not urlsplit(url).netloc:
                continue
            out.append(escape(line[last:start]))
            out.append(f'<a href="{escape(url)}" rel="nofollow ugc">{escape(url)}</a>')
        else:
            number = int(match.group("number"))
            out.append(escape(line[last:start]))
            out.append(f'<a href="{escape(cable_url)}#par{number}">{escape(match.group(0))}</a>')
        last = end
    out.append(escape(line[last:]))
    return "".join(out)


def comment_html(text: str, cable_url: str = "") -> Markup:
    """A reader's text as safe HTML: escaped, paragraphs on blank lines, line
    breaks kept, web links and paragraph references made clickable."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    html = "".join(
        "<p>" + "<br>\n".join(_link_line(line, cable_url) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return Markup(html)  # noqa: S704 - every piece above is escaped


# --------------------------------------------------------------------------- Trackback protocol


def trackback_xml(error: str | None = None) -> str:
    """The Trackback 1.2 response: error 0, or error 1 with a message."""
    if error is None:
        body = "<error>0</error>"
    else:
        body = f"<error>1</error>\n<message>{xml_escape(error)}</message>"
    return f'<?xml version="1.0" encoding="utf-8"?>\n<response>\n{body}\n</response>\n'


# --------------------------------------------------------------------------- comment feeds


def _iso(value: str | None) -> str:
    if not value:
        return "1970-01-01T00:00:00Z"
    date, _, clock = value.partition(" ")
    return f"{date}T{(clock or '00:00')[:5]}:00Z"


def comments_feed(
    items: Sequence[dict], *, title: str, self_path: str, page_path: str, base_url: str
) -> str:
    """An Atom 1.0 feed of public comments (``PublicArchive`` output only)."""
    base = base_url.rstrip("/")
    updated = max((_iso(c["created"]) for c in items), default=_iso(None))
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{xml_escape(title)}</title>",
        f"<id>{xml_escape(base + self_path if base else 'urn:cablegate:' + self_path)}</id>",
        f"<updated>{updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(base + self_path)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + page_path)}/>',
        "<author><name>Cable Viewer readers</name></author>",
        "<generator>cablegate</generator>",
    ]
    for item in items:
        link = base + item["url"]
        entry_title = "Comment on {} by {}".format(item["reference_id"], item["name"])
        out.append(
            "<entry>"
            f"<title>{xml_escape(entry_title)}</title>"
            f"<id>{xml_escape(link if base else 'urn:cablegate:comment:' + str(item['id']))}</id>"
            f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>'
            f"<published>{_iso(item['created'])}</published>"
            f"<updated>{_iso(item['created'])}</updated>"
            f"<author><name>{xml_escape(item['name'])}</name></author>"
            f'<content type="html">{xml_escape(str(item["html"]))}</content>'
            "</entry>"
        )
    out.append("</feed>")
    return "\n".join(out) + "\n"


def rdf_block(base: str, page_path: str, title: str, ping_path: str) -> Markup:
    """Trackback auto-discovery: RDF inside an HTML comment, as the spec shows.

    ``base`` is the site's address, already safe for HTML (or the placeholder
    ``csrf.fill_page`` replaces); the other values are escaped here (no ``<``,
    ``>``, ``&`` or ``--`` left), so nothing in them can close the comment.
    """
    def attr(value: str) -> str:
        return escape(value, quote=True).replace("--", "&#45;&#45;")

    page_url = base + attr(page_path)
    return Markup(  # noqa: S704 - values escaped above
        "<!--\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '         xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '         xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">\n'
        f'<rdf:Description rdf:about="{page_url}"\n'
        f'    dc:identifier="{page_url}"\n'
        f'    dc:title="{attr(title)}"\n'
        f'    trackback:ping="{base}{attr(ping_path)}" />\n'
        "</rdf:RDF>\n"
        "-->"
    )


def prune_spam(engine: Engine, older_than_days: int = 30, now: datetime | None = None) -> int:
    """Delete spam and rejected items older than ``older_than_days`` (housekeeping)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=older_than_days)
    removed = 0
    with writing(engine) as conn:
        for table in (comments, trackbacks):
            removed += conn.execute(delete(table).where(
                and_(table.c.status.in_(("spam", "rejected")), table.c.created_at < cutoff)
            )).rowcount
    return removed
