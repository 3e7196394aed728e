"""Public discussion routes: posting comments, Trackback pings, comment feeds.

Every read goes through the gate (``PublicArchive.is_public``, ``.discussion``,
``.latest_comments``): a cable that is not released answers exactly like an
unknown one (the site's 404 page, or Trackback error 1 "no such cable" with
status 404), and only approved comments of released cables are shown.

    POST /cable/{refid}/comments       a comment (form, CSRF token required)
    GET  /cable/{refid}/pending        "your comment awaits moderation"
    POST /cable/{refid}/trackback      Trackback 1.2 ping (no CSRF: see auth.py)
    GET  /cable/{refid}/comments.atom  the cable's comment feed
    GET  /comments.atom                the site-wide comment feed
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import discussion as disc
from ..discussion import NotPublic, Throttled
from .auth import checked_form, state
from .forms import FormError, read_form

XML = "text/xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
TRACKBACK_MAX_BYTES = 16 * 1024


def comment_path(refid: str) -> str:
    return f"/cable/{quote(refid, safe='')}/comments"


def trackback_path(refid: str) -> str:
    return f"/cable/{quote(refid, safe='')}/trackback"


def comments_feed_path(refid: str | None = None) -> str:
    return "/comments.atom" if refid is None else f"/cable/{quote(refid, safe='')}/comments.atom"


def cable_comments_atom(refid: str, found: dict, base_url: str) -> str:
    """The comment feed of one cable, from its public ``discussion`` (live and mirror)."""
    return disc.comments_feed(
        found["comments"], title=f"Cable Viewer: comments on {refid}",
        self_path=comments_feed_path(refid), page_path=found["path"] + "#comments",
        base_url=base_url,
    )


def site_comments_atom(items: list[dict], base_url: str) -> str:
    """The site-wide feed of the latest approved comments (live and mirror)."""
    return disc.comments_feed(items, title="Cable Viewer: latest comments",
                              self_path=comments_feed_path(), page_path="/", base_url=base_url)


def not_found(request: Request, refid: str) -> Response:
    """The very answer an unknown cable's URL gets."""
    page = state(request).site.not_found_page(refid)
    return Response(page.html, status_code=404, media_type="text/html; charset=utf-8")


def _base(request: Request) -> str:
    return state(request).base_url or str(request.base_url).rstrip("/")


def discussion_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/cable/{refid}/comments")
    async def post_comment(request: Request, refid: str) -> Response:
        form = await checked_form(request)
        st = state(request)
        if not await run_in_threadpool(st.archive.is_public, refid):
            return not_found(request, refid)
        if disc.honeypot_filled(form):
            # A bot: answered like a held comment, stored nowhere.
            return RedirectResponse(f"/cable/{quote(refid, safe='')}/pending", status_code=303)
        item, errors = disc.validate_comment(form)
        if item is None:
            return _form_page(request, refid, form, errors, 422)
        try:
            posted = await run_in_threadpool(
                disc.submit_comment, st.engine, st.archive, refid, item, st.client(request)
            )
        except NotPublic:
            return not_found(request, refid)
        except Throttled as err:
            return _form_page(
                request, refid, form,
                {"form": f"You are commenting too fast. Please wait {err.retry_after} "
                         "seconds and send again."},
                429, headers={"Retry-After": str(err.retry_after)},
            )
        if posted.status == "approved":
            record = await run_in_threadpool(st.archive.get_cable, refid)
            from .url_builder import cable_path

            target = cable_path(refid, (record or {}).get("created")) + f"#comment-{posted.id}"
            return RedirectResponse(target, status_code=303)
        return RedirectResponse(f"/cable/{quote(refid, safe='')}/pending", status_code=303)

    @router.get("/cable/{refid}/pending")
    def comment_pending(request: Request, refid: str) -> Response:
        st = state(request)
        record = st.archive.get_cable(refid)
        if record is None:
            return not_found(request, refid)
        from .url_builder import cable_path

        return st.render(request, "comment_pending.html", title="Comment received",
                         refid=refid, cable_url=cable_path(refid, record.get("created")))

    @router.post("/cable/{refid}/trackback")
    async def trackback(request: Request, refid: str) -> Response:
        st = state(request)
        try:
            form = await read_form(request, TRACKBACK_MAX_BYTES)
        except FormError as err:
            return _xml(err.message, err.status)
        if not await run_in_threadpool(st.archive.is_public, refid):
            return _xml("no such cable", 404)
        try:
            item = disc.validate_trackback(form)
        except ValueError as err:
            return _xml(str(err), 400)
        try:
            await run_in_threadpool(
                disc.submit_trackback, st.engine, st.archive, refid, item, st.client(request)
            )
        except NotPublic:
            return _xml("no such cable", 404)
        except Throttled as err:
            response = _xml(f"too many pings; try again in {err.retry_after} s", 429)
            response.headers["Retry-After"] = str(err.retry_after)
            return response
        return _xml(None, 200)

    @router.get("/cable/{refid}/comments.atom")
    def cable_comments_feed(request: Request, refid: str) -> Response:
        st = state(request)
        found = st.archive.discussion(refid)
        if found is None:
            return not_found(request, refid)
        return Response(cable_comments_atom(refid, found, _base(request)), media_type=ATOM)

    @router.get("/comments.atom")
    def site_comments_feed(request: Request) -> Response:
        items = state(request).archive.latest_comments(disc.FEED_SIZE)
        return Response(site_comments_atom(items, _base(request)), media_type=ATOM)

    return router


def _xml(error: str | None, status: int) -> Response:
    return Response(disc.trackback_xml(error), status_code=status, media_type=XML)


def _form_page(request: Request, refid: str, form: Any, errors: dict[str, str], status: int,
               headers: dict[str, str] | None = None) -> Response:
    """The comment form again, with what was sent and what is wrong."""
    values = {k: str(form.get(k) or "")[:10_000] for k in ("name", "email", "website", "comment")}
    return state(request).render(
        request, "comment_form.html", status_code=status, headers=headers, title="Your comment",
        refid=refid, action=comment_path(refid), values=values, errors=errors,
        honeypot=disc.HONEYPOT, max_body=disc.MAX_BODY,
    )


def cable_discussion(
    archive: Any, record: dict, path: str, base_url: str = "", static: bool = False,
    found: dict | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a cable page shows of its discussion: (template context, JSON twin part).

    Called by ``Site`` when it renders a cable page (so the static mirror gets
    the approved comments too). Live pages are cached for every reader, so the
    form carries the CSRF placeholder and the Trackback block the site-address
    placeholder; ``csrf.fill_page`` fills both per request. The mirror has no
    server to post to: no form, no Trackback URL. ``found``: the cable's
    ``archive.discussion`` when the caller already read it (``cable_view``).
    """
    from markupsafe import Markup, escape

    from ..csrf import BASE_PLACEHOLDER, FIELD_PLACEHOLDER

    refid = record["reference_id"]
    if found is None:
        read = getattr(archive, "discussion", None)  # a PublicArchive; stubs may lack it
        found = read(refid) if read else None
    found = found or {"comments": [], "trackbacks": []}
    data: dict[str, Any] = {
        "comments": [{k: v for k, v in c.items() if k != "html"} for c in found["comments"]],
        "trackbacks": found["trackbacks"],
    }
    links = None
    if static and found["comments"]:  # the mirror writes this feed (export.py)
        links = {"feed": comments_feed_path(refid)}
        data["comments_feed"] = links["feed"]
    if not static:
        site_base = escape(base_url) if base_url else Markup(BASE_PLACEHOLDER)  # noqa: S704
        subject = record.get("subject") or ""
        links = {
            "action": comment_path(refid),
            "trackback": trackback_path(refid),
            "feed": comments_feed_path(refid),
            "site_base": site_base,
            "csrf": Markup(FIELD_PLACEHOLDER),  # noqa: S704 - a constant
            "honeypot": disc.HONEYPOT,
            "max_body": disc.MAX_BODY,
            "rdf": disc.rdf_block(str(site_base), path, f"{refid}: {subject}".strip(": "),
                                  trackback_path(refid)),
        }
        data["comments_feed"] = links["feed"]
        data["trackback_url"] = links["trackback"]
    return {"discussion": found, "discussion_links": links}, data
