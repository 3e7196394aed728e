"""Logging in and out, and the guards every non-public route goes through.

``PublishingState`` (one per process, on ``app.state.publishing``) holds what
the publishing routes share: the archive's engine, the site secret, the
templates. The guards:

* ``editor_guard`` — a router-level dependency of every ``/admin`` route, so
  a new admin route cannot forget it: no live session -> a GET is redirected
  to ``/login``, anything else gets 403; a POST must also carry a valid CSRF
  token (``cablegate.csrf``) or gets 403. ``admin_guard`` adds the admin role.
* ``checked_form`` — the bounded form reader plus CSRF check used by every
  public POST (comments, login, logout); only the Trackback endpoint is
  exempt (a machine protocol between sites: no cookies, nothing but a
  moderation-queue entry can result).

Admin and login pages are sent with ``Cache-Control: no-store`` and a
Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from .. import accounts, csrf
from ..db import writing
from .forms import MAX_FORM_BYTES, FormError, read_form

ADMIN_MAX_FORM_BYTES = 1024 * 1024

PRIVATE_HEADERS = {
    "Cache-Control": "no-store, private",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- shared state


class PublishingState:
    """What the publishing routes of one process share (created on first use)."""

    def __init__(self, site_getter: Callable[[], Any], base_url: str = "") -> None:
        self._site_getter = site_getter
        self.base_url = base_url.rstrip("/")
        self._secret: bytes | None = None
        self._env: Any = None
        self._lock = threading.Lock()

    @property
    def site(self) -> Any:
        """The process's ``Site`` (public pages; its archive is the PublicArchive)."""
        return self._site_getter()

    @property
    def archive(self) -> Any:
        return self.site.archive

    @property
    def engine(self) -> Any:
        return self.archive.engine

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = accounts.site_secret(self.engine)
        return self._secret

    @property
    def env(self) -> Any:
        if self._env is None:
            with self._lock:
                if self._env is None:
                    from .site import make_environment

                    self._env = make_environment()
        return self._env

    def client(self, request: Request) -> str:
        """The keyed pseudonym of the request's client address."""
        host = request.client.host if request.client else None
        return accounts.client_key(self.secret, host)

    def render(
        self, request: Request, template: str, *, status_code: int = 200, private: bool = True,
        headers: dict[str, str] | None = None, **context: Any,
    ) -> HTMLResponse:
        """A page of ours, with this reader's CSRF field and (private pages) no caching."""
        released, total = self.site.counts()
        context.setdefault("static", False)
        context.setdefault("path", None)
        context.setdefault("json_path", None)
        context.setdefault("user", getattr(request.state, "user", None))
        html = self.env.get_template(template).render(
            released_count=released, total_count=total,
            csrf_field=Markup(csrf.field_html(request)),  # noqa: S704 - built escaped
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        for key, value in ({**PRIVATE_HEADERS} if private else {}).items():
            response.headers[key] = value
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return csrf.remember_cookie(request, response)


def state(request: Request) -> PublishingState:
    return request.app.state.publishing


# --------------------------------------------------------------------------- users and guards


def current_user(request: Request) -> accounts.User | None:
    token = request.cookies.get(csrf.SESSION_COOKIE)
    if not token:
        return None
    with state(request).engine.connect() as conn:
        return accounts.session_user(conn, token)


async def checked_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> FormData:
    """The posted form (bounded), after the CSRF check: FormError or Forbidden."""
    form = await read_form(request, max_bytes)
    if not csrf.check(request, form):
        raise Forbidden(
            "This form has expired or was not sent from this site (missing or invalid "
            "CSRF token). Reload the page and try again."
        )
    return form


async def editor_guard(request: Request) -> accounts.User:
    """Every /admin route: a logged-in editor or admin; POSTs with a valid CSRF token."""
    user = await run_in_threadpool(current_user, request)
    if user is None:
        if request.method in ("GET", "HEAD"):
            query = f"?{request.url.query}" if request.url.query else ""
            raise LoginRequired(request.url.path + query)
        raise Forbidden("Log in first.")
    request.state.user = user
    if request.method not in ("GET", "HEAD"):
        # Editors may post long lists of reference IDs (batch releases).
        request.state.form = await checked_form(request, ADMIN_MAX_FORM_BYTES)
    return user


def admin_guard(request: Request) -> accounts.User:
    user = request.state.user
    if not user.is_admin:
        raise Forbidden("Only admins can manage accounts.")
    return user


def safe_next(value: Any, default: str = "/admin") -> str:
    """A local path to go to after login (never another site)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") \
            or "\\" in value or any(c in value for c in "\r\n\t") or len(value) > 500:
        return default
    return value


# --------------------------------------------------------------------------- errors


def install_error_handlers(app: FastAPI) -> None:
    def error_page(request: Request, status: int, title: str, message: str) -> Response:
        if request.url.path.endswith((".json", ".atom")):
            from fastapi.responses import JSONResponse

            return JSONResponse({"error": title, "detail": message}, status_code=status)
        return state(request).render(request, "publishing_error.html", status_code=status,
                                     title=title, message=message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        response = RedirectResponse("/login?next=" + quote(exc.next_path, safe="/"),
                                    status_code=303)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error_page(request, 403, "Forbidden", exc.message)

    @app.exception_handler(FormError)
    async def bad_form(request: Request, exc: FormError) -> Response:
        titles = {400: "Bad request", 411: "Length required", 413: "Too large",
                  415: "Unsupported form"}
        return error_page(request, exc.status, titles.get(exc.status, "Bad request"),
                          exc.message)


# --------------------------------------------------------------------------- login, logout


def login_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/admin") -> Response:  # noqa: A002
        user = current_user(request)
        if user is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return state(request).render(request, "login.html", title="Log in",
                                     next=safe_next(next), error=None, username="")

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await checked_form(request)
        st = state(request)
        username = str(form.get("username") or "")[:64]
        password = str(form.get("password") or "")
        target = safe_next(form.get("next"))

        def attempt() -> tuple[accounts.User | None, str | None]:
            with writing(st.engine) as conn:
                user = accounts.authenticate(conn, username, password, st.client(request))
                token = accounts.create_session(conn, user) if user else None
                return user, token

        try:
            user, token = await run_in_threadpool(attempt)
        except accounts.LoginThrottled as err:
            return st.render(request, "login.html", status_code=429, title="Log in", next=target,
                             username=username, headers={"Retry-After": str(err.retry_after)},
                             error=f"Too many failed attempts. Try again in "
                                   f"{_duration(err.retry_after)}.")
        if user is None or token is None:
            return st.render(request, "login.html", status_code=401, title="Log in", next=target,
                             username=username, error="Wrong username or password.")
        response = RedirectResponse(target, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        csrf.set_cookie(response, request, csrf.SESSION_COOKIE, token,
                        int(accounts.SESSION_HOURS * 3600))
        # A fresh CSRF cookie for the new session (a planted one is worthless now).
        csrf.set_cookie(response, request, csrf.COOKIE, csrf.new_cookie_value(),
                        csrf.COOKIE_MAX_AGE)
        return response

    @router.get("/logout", response_class=HTMLResponse)
    def logout_page(request: Request) -> Response:
        """Logging out changes state, so it is a POST; this page holds its button."""
        return state(request).render(request, "logout.html", title="Log out",
                                     user=current_user(request))

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await checked_form(request)
        token = request.cookies.get(csrf.SESSION_COOKIE)

        def forget() -> None:
            with writing(state(request).engine) as conn:
                accounts.end_session(conn, token)

        await run_in_threadpool(forget)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(csrf.SESSION_COOKIE, path="/")
        return response

    return router


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(timedelta(seconds=seconds).total_seconds() / 60)} minutes"

