"""The editors' pages under /admin: releases, redactions, moderation, accounts.

Every route here hangs off one router whose dependency is ``editor_guard``
(auth.py): a reader without a live session is redirected to /login (GET) or
refused with 403 (anything else), and every POST needs a valid CSRF token.
These are the only pages that show original texts and unreleased cables;
they are sent with ``Cache-Control: no-store`` and a no-script CSP.

``register(app, site_getter, base_url)`` adds these routes, login/logout and
the public discussion routes (discuss.py) to the site's app.

    GET  /admin                                dashboard
    GET  /admin/cables?q=&embargoed=1          find cables (released or not)
    GET  /admin/cable/{refid}                  editor's view of one cable
    POST /admin/cable/{refid}/release          set its release time
    POST /admin/cable/{refid}/redactions       redact a span
    POST /admin/cable/{refid}/redactions/{id}/lift   unredact (new public revision)
    GET  /admin/release                        batch release form
    POST /admin/release/preview                what a batch would change
    POST /admin/release                        apply a previewed batch
    GET  /admin/discussion?kind=&status=       moderation queue
    POST /admin/discussion                     approve / reject / spam / unapprove / delete
    GET  /admin/users, POST /admin/users       accounts (admins only)
    GET  /admin/audit                          what editors did
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import accounts, publishing, store
from .. import discussion as disc
from ..db import utcnow, writing
from .auth import (
    PublishingState,
    admin_guard,
    editor_guard,
    install_error_handlers,
    login_router,
    state,
)
from .discuss import discussion_router

QUEUE_PAGE = 50
INDEX_WAIT_SECONDS = 10.0


def register(app: FastAPI, site_getter: Callable[[], Any], base_url: str = "") -> None:
    """Add accounts, the admin pages and the discussion routes to the site's app."""
    app.state.publishing = PublishingState(site_getter, base_url)
    install_error_handlers(app)
    app.include_router(login_router())
    app.include_router(discussion_router())
    app.include_router(admin_router())


def _user(request: Request) -> accounts.User:
    return request.state.user


def _form(request: Request) -> Any:
    return request.state.form


def _text(form: Any, name: str, limit: int = 10_000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _split_ids(text: str) -> list[str]:
    """Reference IDs as pasted: separated by spaces, lines or commas."""
    return [part for part in re.split(r"[\s,;]+", text) if part]


def wait_for_search_index(archive: Any, timeout: float = INDEX_WAIT_SECONDS) -> bool:
    """Bring the public search index up to the change log's head before answering
    (``indexer.wait_until_current``)."""
    from ..indexer import wait_until_current

    index = getattr(archive, "index", None)
    if index is None:
        return True
    return wait_until_current(archive.engine, index, timeout)


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/admin", dependencies=[Depends(editor_guard)],
                       include_in_schema=False)

    # -- dashboard and lookup

    @router.get("", response_class=HTMLResponse)
    @router.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        st = state(request)
        with st.engine.connect() as conn:
            audit = accounts.recent_audit(conn, 20)
        return st.render(request, "admin/dashboard.html", title="Editors' dashboard",
                         counts=publishing.redaction_counts(st.engine),
                         discussion=disc.status_counts(st.engine), audit=audit,
                         embargoed=publishing.find_cables(st.engine, embargoed_only=True,
                                                          limit=20))

    @router.get("/cables", response_class=HTMLResponse)
    def cables(request: Request, q: str = "", embargoed: int = 0) -> Response:
        st = state(request)
        found = publishing.find_cables(st.engine, q[:200], embargoed_only=bool(embargoed))
        return st.render(request, "admin/cables.html", title="Find cables", q=q[:200],
                         embargoed=bool(embargoed), cables=found)

    # -- one cable

    def cable_page(request: Request, refid: str, *, message: str | None = None,
                   error: str | None = None, status: int = 200) -> Response:
        st = state(request)
        view = publishing.editor_view(st.engine, refid)
        if view is None:
            return st.render(request, "publishing_error.html", status_code=404, title="Not found",
                             message=f"{refid} is not in the archive.")
        with st.engine.connect() as conn:
            audit = accounts.recent_audit(conn, 20, refid)
        from .url_builder import cable_path

        return st.render(request, "admin/cable.html", status_code=status, title=f"Edit {refid}",
                         refid=refid, view=view, audit=audit, message=message, error=error,
                         public_url=cable_path(refid, view.get("created")),
                         span_fields=publishing.SPAN_FIELDS)

    @router.get("/cable/{refid}", response_class=HTMLResponse)
    def cable(request: Request, refid: str) -> Response:
        return cable_page(request, refid)

    @router.post("/cable/{refid}/release", response_class=HTMLResponse)
    def cable_release(request: Request, refid: str) -> Response:
        st, form = state(request), _form(request)
        try:
            at = publishing.parse_release_time(_text(form, "at", 100))
            plan = publishing.plan_release(st.engine, at, refids=[refid])
            publishing.apply_release(st.engine, plan, by=_user(request).username)
        except publishing.PublishingError as err:
            return cable_page(request, refid, error=str(err), status=400)
        wait_for_search_index(st.archive)
        return cable_page(request, refid,
                          message=f"Release time set to {at:%Y-%m-%d %H:%M} UTC.")

    @router.post("/cable/{refid}/redactions", response_class=HTMLResponse)
    def cable_redact(request: Request, refid: str) -> Response:
        st, form = state(request), _form(request)
        text = _text(form, "text", publishing.MAX_SPAN + 100) or None
        try:
            new_id, span = publishing.add_redaction(
                st.engine, refid, reason=_text(form, "reason", 2000),
                by=_user(request).username, field=_text(form, "field", 20) or "body",
                text=text, occurrence=_int(form.get("occurrence"), 1) or 1,
                start=None if text else _int(form.get("start")),
                end=None if text else _int(form.get("end")),
            )
        except publishing.PublishingError as err:
            return cable_page(request, refid, error=str(err), status=400)
        wait_for_search_index(st.archive)
        with st.engine.connect() as conn:
            found = publishing.occurrences(store.get_record(conn, refid) or {}, span.text)
        note = (f" {found['inside_words']} of them inside longer words: check the preview."
                if found["inside_words"] else "")
        return cable_page(request, refid, message=(
            f"Redaction {new_id} saved: {span.text[:80]!r} is now replaced in "
            f"{found['total']} place(s) of the public text.{note}"))

    @router.post("/cable/{refid}/redactions/{redaction_id}/lift", response_class=HTMLResponse)
    def cable_unredact(request: Request, refid: str, redaction_id: int) -> Response:
        st = state(request)
        try:
            done = publishing.unredact(st.engine, refid, [redaction_id],
                                       by=_user(request).username)
        except publishing.PublishingError as err:
            return cable_page(request, refid, error=str(err), status=400)
        wait_for_search_index(st.archive)
        tail = (f" The original text is published as revision {done.revision}."
                if done.revision else " (The cable is not released yet: no new revision.)")
        return cable_page(request, refid, message=f"Redaction {redaction_id} lifted.{tail}")

    # -- batch releases

    @router.get("/release", response_class=HTMLResponse)
    def release_form(request: Request) -> Response:
        return state(request).render(request, "admin/release.html", title="Schedule a release",
                                     plan=None, values={}, counts=None, error=None)

    @router.post("/release/preview", response_class=HTMLResponse)
    def release_preview(request: Request) -> Response:
        st, form = state(request), _form(request)
        values = {k: _text(form, k, 200_000) for k in ("at", "refids", "query", "unreleased")}
        now = utcnow()
        try:
            at = publishing.parse_release_time(values["at"])
            plan = publishing.plan_release(
                st.engine, at, refids=_split_ids(values["refids"]), query=values["query"] or None,
                unreleased_only=bool(values["unreleased"]), now=now,
            )
        except ValueError as err:  # PublishingError and QuerySyntaxError
            return st.render(request, "admin/release.html", status_code=400,
                             title="Schedule a release", plan=None, values=values,
                             counts=None, error=str(err))
        return st.render(request, "admin/release.html", title="Preview of the release",
                         plan=plan, values=values, counts=plan.counts(now),
                         shown=plan.cables[: publishing.PREVIEW_LIMIT], error=None)

    @router.post("/release", response_class=HTMLResponse)
    def release_apply(request: Request) -> Response:
        st, form = state(request), _form(request)
        values = {k: _text(form, k, 1_000_000) for k in ("at", "refids", "query")}
        try:
            at = publishing.parse_release_time(values["at"])
            plan = publishing.plan_release(st.engine, at, refids=_split_ids(values["refids"]))
            plan.query = values["query"] or None
            done = publishing.apply_release(st.engine, plan, by=_user(request).username)
        except publishing.PublishingError as err:
            return st.render(request, "admin/release.html", status_code=400,
                             title="Schedule a release", plan=None, values=values,
                             counts=None, error=str(err))
        wait_for_search_index(st.archive)
        return st.render(request, "admin/release.html", title="Release scheduled", plan=None,
                         values={}, counts=None, error=None,
                         message=f"{done} cable(s) now have the release time "
                                 f"{at:%Y-%m-%d %H:%M} UTC.")

    # -- moderation

    @router.get("/discussion", response_class=HTMLResponse)
    def moderation(request: Request, kind: str = "comment", status: str = "pending",
                   page: int = 0) -> Response:
        st = state(request)
        if kind not in disc.KINDS or status not in disc.STATUSES or not 0 <= page <= 100_000:
            return st.render(request, "publishing_error.html", status_code=400, title="Bad request",
                             message="Unknown kind, status or page.")
        total, items = disc.queue(st.engine, kind, status, limit=QUEUE_PAGE,
                                  offset=page * QUEUE_PAGE)
        return st.render(request, "admin/discussion.html", title="Moderation", kind=kind,
                         status=status, page=page, total=total, items=items,
                         pages=max(1, -(-total // QUEUE_PAGE)),
                         counts=disc.status_counts(st.engine),
                         kinds=disc.KINDS, statuses=disc.STATUSES, actions=disc.ACTIONS)

    @router.post("/discussion")
    def moderate(request: Request) -> Response:
        st, form = state(request), _form(request)
        kind, action = _text(form, "kind", 20), _text(form, "action", 20)
        status = _text(form, "status", 20) or "pending"
        ids = [i for i in (_int(v) for v in form.getlist("ids")) if i is not None]
        if kind not in disc.KINDS or (action != "delete" and action not in disc.ACTIONS):
            return st.render(request, "publishing_error.html", status_code=400, title="Bad request",
                             message="Unknown kind or action.")
        disc.moderate(st.engine, kind, ids, action, by=_user(request).username)
        status = status if status in disc.STATUSES else "pending"
        return RedirectResponse(f"/admin/discussion?kind={kind}&status={status}",
                                status_code=303)

    # -- accounts (admins)

    @router.get("/users", response_class=HTMLResponse, dependencies=[Depends(admin_guard)])
    def users(request: Request) -> Response:
        return users_page(request)

    def users_page(request: Request, message: str | None = None, error: str | None = None,
                   status: int = 200) -> Response:
        st = state(request)
        with st.engine.connect() as conn:
            rows = accounts.list_users(conn)
        return st.render(request, "admin/users.html", status_code=status, title="Accounts",
                         users=rows, roles=accounts.ROLES, message=message, error=error)

    @router.post("/users", response_class=HTMLResponse, dependencies=[Depends(admin_guard)])
    def users_change(request: Request) -> Response:
        st, form, me = state(request), _form(request), _user(request)
        action, name = _text(form, "action", 20), _text(form, "username", 64)
        password, role = str(form.get("password") or ""), _text(form, "role", 20)
        try:
            with writing(st.engine) as conn:
                if action == "add":
                    accounts.create_user(conn, name, password, role, by=me.username)
                elif action == "role":
                    accounts.set_role(conn, name, role, by=me.username)
                elif action in ("disable", "enable"):
                    if name == me.username:
                        raise accounts.AccountError("you cannot disable your own account")
                    accounts.set_disabled(conn, name, action == "disable", by=me.username)
                elif action == "password":
                    accounts.set_password(conn, name, password, by=me.username)
                else:
                    raise accounts.AccountError("unknown action")
        except accounts.AccountError as err:
            return users_page(request, error=str(err), status=400)
        return users_page(request, message=f"Done: {action} {name}.")

    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> Response:
        st = state(request)
        with st.engine.connect() as conn:
            rows = accounts.recent_audit(conn, 200)
        return st.render(request, "admin/audit.html", title="Audit log", audit=rows)

    return router
