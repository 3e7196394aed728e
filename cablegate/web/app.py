"""The FastAPI application: routes of the public site over a PublicArchive.

``create_app(archive_factory)`` builds the app; ``archive_factory()`` is called
once per process, on first use, so each uvicorn worker opens its own database
engine and search index. Every page is rendered by ``Site`` (also used by the
static mirror); this module maps URLs to pages, caches rendered cable pages,
and answers HTML or the JSON twin.
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser

from .. import csrf, jsoncodec
from ..csrf import fill_page
from . import models
from . import url_builder as urls
from .admin import register as register_publishing
from .cache import PageCache
from .pagestore import StoredView, placeholder_marks, split_marks
from .site import BadRequest, NotFound, Page, Site

STATIC = Path(__file__).resolve().parent.parent / "static"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
ATOM = "application/atom+xml; charset=utf-8"
SearchSort = Literal["relevance", "-created", "created", "released"]
BrowseSort = Literal["-created", "created", "-released", "released", "reference_id"]
SORT_DOC = "Sort order: " + ", ".join(
    ["-created", "created", "-released", "released", "reference_id"]
)


class SiteHolder:
    """The per-process Site, created on first use (after uvicorn forks workers)."""

    def __init__(
        self, archive_factory: Callable[[], Any], page_store: Any = None, **site_options: Any
    ) -> None:
        self._factory = archive_factory
        self._page_store = page_store
        self._options = site_options
        self._site: Site | None = None
        self._cache: Any = None
        self._lock = threading.Lock()
        self.app: Any = None  # the FastAPI app, once built

    @property
    def site(self) -> Site:
        if self._site is None:
            with self._lock:
                if self._site is None:
                    archive = self._factory()
                    site = Site(archive, **self._options)
                    if self._page_store:  # rendered pages shared by all workers, on disk
                        from .pagestore import PageStore

                        store = PageStore(archive, self._page_store)
                        # Pages rendered after the counter moved must show the new one.
                        store.on_counts_change = lambda: setattr(site, "_counts", None)
                        self._cache = store
                    else:
                        self._cache = PageCache(archive)
                    self._site = site
                    gc.freeze()  # see _FREEZE_AFTER
        return self._site

    @property
    def cache(self) -> Any:
        """PageStore or PageCache: ``get(refid, render)`` -> page with html/json bytes."""
        _ = self.site
        assert self._cache is not None
        return self._cache

    def view(self, key: str, render: Callable[[], StoredView],
             cacheable: Callable[[int], bool] | None = None) -> StoredView:
        """A search or browse page from the page store (``PageStore.view``): rendered
        once per state of the public archive, shared by the workers."""
        view = getattr(self.cache, "view", None)
        if view is None:  # the in-memory PageCache keeps cable pages only
            return render()
        return view(key, render, cacheable)


_CABLE_PATH = re.compile(r"^/cable/(\d{4})/(\d{2})/([A-Za-z0-9_.-]{1,64})\.(html|json)$")


class CablePages:
    """ASGI middleware answering cable page requests from the page cache.

    The cable page is most of the traffic; answering it here, before routing,
    dependency injection and the other middleware, and writing the response
    messages directly (no Request/Response objects, no cookie library) makes a
    stored page cost ~120 µs of Python in process. A page-store hit is answered
    on the event loop; a miss is rendered in the thread pool, so hits keep
    flowing meanwhile. Anything else (a miss that is not found, a wrong year
    or month, other methods) goes on to the app, which answers the same way.
    """

    def __init__(self, app: Any, holder: SiteHolder) -> None:
        self.app = app
        self.holder = holder
        self._bases: dict[tuple, str] = {}  # request address -> site address (memo)
        self._served = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
                and not scope.get(_TRIED)):
            scope[_TRIED] = True  # the copy inside the app (behind front_door): don't look again
            self._served += 1
            if self._served == _FREEZE_AFTER:
                gc.freeze()
            key = view_key(scope["path"], scope["query_string"])
            if key is not None:  # a search or browse page: served here only if stored
                lookup_view = getattr(self.holder.cache, "lookup_view", None)
                view = lookup_view(key) if lookup_view is not None else None
                if view is not None:
                    await _send(send, view.media_type.encode(), view.body, None)
                    return
            match = _CABLE_PATH.match(scope["path"])
            if match:
                year, month, refid, ext = match.groups()
                page = await self._page(refid)
                if page is not None and page.path == f"/cable/{year}/{month}/{refid}.html":
                    if ext == "json":
                        await _send(send, _JSON_TYPE, page.json_bytes, None)
                    else:
                        body, cookie = self._fill(scope, page)
                        await _send(send, _HTML_TYPE, body, cookie)
                    return
        await self.app(scope, receive, send)

    async def _page(self, refid: str) -> Any:
        cache = self.holder.cache
        lookup = getattr(cache, "lookup", None)
        page = lookup(refid) if lookup is not None else None
        if page is None:
            try:
                page = await run_in_threadpool(cache.get, refid, self.holder.site.cable_page)
            except NotFound:
                return None
        return page

    def _fill(self, scope: dict, page: Any) -> tuple[bytes, bytes | None]:
        """Issue 5: the page with this reader's CSRF field and the site address in
        place of the placeholders, and the Set-Cookie value when the CSRF cookie is
        new: what ``csrf.fill_page`` makes (tests/test_web_cache.py compares them)."""
        pieces = page.html_pieces() if hasattr(page, "html_pieces") else split_marks(
            page.html_bytes, placeholder_marks(page.html_bytes))
        if len(pieces) == 1:
            return pieces[0], None
        cookie_header = next((v for k, v in scope["headers"] if k == b"cookie"), None)
        cookies = cookie_parser(cookie_header.decode("latin-1")) if cookie_header else {}
        value = cookies.get(csrf.COOKIE)
        minted = not csrf.usable_cookie(value)
        if minted:
            value = csrf.new_cookie_value()
        publishing = self.holder.app.state.publishing
        token = csrf.token_for(publishing.secret, value, cookies.get(csrf.SESSION_COOKIE))
        field = csrf.hidden_field(token).encode()
        base = b""
        if "b" in pieces:
            base = escape(getattr(publishing, "base_url", "") or self._base(scope)).encode()
        body = b"".join(
            piece if isinstance(piece, bytes) else (field if piece == "f" else base)
            for piece in pieces
        )
        cookie = None
        if minted:
            secure = csrf.secure_for_scheme(scope.get("scheme", "http"))
            cookie = (f"{csrf.COOKIE}={value}; HttpOnly; Max-Age={csrf.COOKIE_MAX_AGE}; "
                      f"Path=/; SameSite=lax" + ("; Secure" if secure else "")).encode()
        return body, cookie

    def _base(self, scope: dict) -> str:
        """``request.base_url`` without its slash, memoised per request address."""
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        key = (scope.get("scheme"), scope.get("server"), host,
               scope.get("app_root_path", scope.get("root_path", "")))
        base = self._bases.get(key)
        if base is None:
            if len(self._bases) > 256:
                self._bases.clear()
            base = self._bases[key] = str(Request(scope).base_url).rstrip("/")
        return base


_TRIED = "cablegate.fast_path"
# The worker's long-lived objects (modules, app, templates, SQLAlchemy's caches,
# filled by the first requests) are moved out of the collector's sight once
# the site is built and again after this many requests: a full collection
# over them (~110,000 objects) paused the event loop for 130-170 ms while
# pages were being rendered, every client of the worker waiting (measured
# with gc.callbacks around bench/render.py --fast-path).
_FREEZE_AFTER = 2000


def front_door(app: FastAPI) -> CablePages:
    """What uvicorn serves: the fast path in front of the whole FastAPI app, not
    only in front of its routes (FastAPI's own outer layers, telemetry check,
    body limit and error middleware, cost ~35 µs of a stored page's ~160 µs in
    process). The copy inside the app (for in-process use) then stands aside."""
    return CablePages(app, app.state.holder)


_BROWSE_PATH = re.compile(
    r"^/(" + "|".join(urls.BROWSE_KINDS) + r")/([^/]+)\.(html|json)$")
_PAGE_NUMBER = re.compile(r"\d{1,8}")


def search_key(ext: str, q: str, page: int, sort: str) -> str:
    # JSON: no two parameter lists give one key (a "|" in a sort or query cannot).
    return "search" + json.dumps([ext, sort, page, q])


def browse_key(kind: str, ext: str, sort: str | None, name: str) -> str:
    return "browse" + json.dumps([kind, ext, sort or "", name])


def view_key(path: str, query_string: bytes) -> str | None:
    """The page-store key the search or browse route stores this request's page
    under (``search_key``/``browse_key`` of the parameters FastAPI would give it),
    or None when the request is anything else or has odd parameters (repeated,
    not a plain page number): those go to the route, which answers them."""
    search = path in ("/search", "/search.json")
    match = None if search else _BROWSE_PATH.match(path)
    if not search and (match is None or match[2] == "index" or urls.split_page(match[2]) is None):
        return None
    params: dict[str, str] = {}
    if query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if name in params:
                return None
            params[name] = value
    if match is None:
        page = params.get("page", "0")
        if not _PAGE_NUMBER.fullmatch(page):
            return None
        ext = "json" if path.endswith(".json") else "html"
        return search_key(ext, params.get("q", ""), int(page), params.get("sort", "relevance"))
    return browse_key(match[1], match[3], params.get("sort"), match[2])


_HTML_TYPE = HTML.encode()
_JSON_TYPE = JSON.encode()


async def _send(send: Any, content_type: bytes, body: bytes, cookie: bytes | None) -> None:
    """A 200 response as ``Response(...)`` plus the CORS header would send it."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", content_type),
               (b"access-control-allow-origin", b"*")]
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _html(page: Page) -> Response:
    return HTMLResponse(page.html, status_code=page.status)


def _json(page: Page) -> Response:
    return Response(jsoncodec.compact_bytes(page.data), status_code=page.status, media_type=JSON)


def _stored(page: Page, ext: str) -> StoredView:
    """A rendered page as the page store keeps it (what ``_html``/``_json`` answer)."""
    if ext == "json":
        return StoredView(page.status, JSON, jsoncodec.compact_bytes(page.data))
    return StoredView(page.status, HTML, page.html.encode())


def _response(view: StoredView) -> Response:
    return Response(view.body, status_code=view.status, media_type=view.media_type)


def create_app(
    archive_factory: Callable[[], Any],
    *,
    base_url: str = "",
    title: str = "Cable Viewer",
    page_store: str | Path | None = None,
) -> FastAPI:
    """The public site. ``base_url`` (e.g. ``https://cables.example``) makes share
    links and feeds absolute; without it they use the request's host.
    ``page_store``: a file for rendered cable pages shared by worker processes
    (``pagestore.PageStore``); without it each process keeps them in memory."""
    holder = SiteHolder(archive_factory, page_store, base_url=base_url)
    app = FastAPI(
        title=f"{title} API",
        description=(
            "Read-only JSON API of the cable archive. Every HTML page of the site has a JSON "
            "twin at the same path ending in `.json`; those twins are the API documented here."
        ),
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.holder = holder
    holder.app = app  # the fast path reads the publishing state (CSRF secret) from it
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"], allow_headers=["*"]
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost: cable pages straight from the page cache, past routing (the hot path).
    app.add_middleware(CablePages, holder=holder)

    def site() -> Site:
        return holder.site

    def not_found(request: Request, what: str = "") -> Response:
        if request.url.path.endswith(".json"):
            return JSONResponse({"error": "not found"}, status_code=404)
        return _html(site().not_found_page(what))

    def bad_request(request: Request, err: BadRequest) -> Response:
        if request.url.path.endswith(".json"):
            return JSONResponse({"error": "bad request", "detail": err.message}, status_code=400)
        page = site().not_found_page(err.message)
        return HTMLResponse(page.html.replace("Not found", "Bad request"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return not_found(request)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    # -- home and fixed pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/index.html", response_class=HTMLResponse, include_in_schema=False)
    def home() -> Response:
        return _html(site().home_page())

    @app.get(
        "/index.json",
        response_model=models.Home,
        tags=["pages"],
        summary="Home: release counter and the latest releases",
    )
    def home_json() -> Response:
        return _json(site().home_page())

    @app.get("/reasons.html", response_class=HTMLResponse, include_in_schema=False)
    def reasons() -> Response:
        return _html(site().reasons_page())

    @app.get(
        "/reasons.json",
        response_model=models.Reasons,
        tags=["pages"],
        summary="Classification reason categories (E.O. 12958 / 13526)",
    )
    def reasons_json() -> Response:
        return _json(site().reasons_page())

    @app.get("/about.html", response_class=HTMLResponse, include_in_schema=False)
    def about() -> Response:
        return _html(site().about_page())

    # -- cables

    def cable_response(
        request: Request, refid: str, ext: str, year: str | None, month: str | None
    ) -> Response:
        try:
            page = holder.cache.get(refid, site().cable_page)
        except NotFound:
            return not_found(request, refid)
        if year is not None and page.path != f"/cable/{year}/{month}/{refid}.html":
            return RedirectResponse(page.path if ext == "html" else page.json_path, status_code=301)
        if ext == "json":
            return Response(page.json_bytes, media_type=JSON)
        # Issue 5: this reader's CSRF token into the cached page's comment form.
        return fill_page(request, page.html_bytes, HTML)

    @app.get(
        "/cable/{year}/{month}/{refid}.html", response_class=HTMLResponse, include_in_schema=False
    )
    def cable(request: Request, year: str, month: str, refid: str) -> Response:
        return cable_response(request, refid, "html", year, month)

    @app.get(
        "/cable/{year}/{month}/{refid}.json",
        response_model=models.Cable,
        tags=["cables"],
        summary="One cable: public record, revisions, references and citations",
        responses={404: {"model": models.Error}},
    )
    def cable_json(request: Request, year: str, month: str, refid: str) -> Response:
        return cable_response(request, refid, "json", year, month)

    @app.get("/cable/{refid}", include_in_schema=False)
    def cable_redirect(request: Request, refid: str) -> Response:
        ext = "json" if refid.endswith(".json") else "html"
        bare = refid.removesuffix(".json").removesuffix(".html")
        try:
            page = holder.cache.get(bare, site().cable_page)
        except NotFound:
            return not_found(request, bare)
        return RedirectResponse(page.json_path if ext == "json" else page.path, status_code=301)

    # -- browse indexes

    def browse(request: Request, kind: str, name: str, ext: str, sort: str | None) -> Response:
        split = urls.split_page(name)
        if split is None:  # /tag/PGOV.html -> /tag/PGOV_0.html
            try:
                value = site().browse_value(kind, name)
            except NotFound:
                return not_found(request, f"{kind}/{name}")
            target = urls.browse_path(kind, value, 0, ext)
            return RedirectResponse(target + (f"?sort={sort}" if sort else ""), status_code=301)
        slug, number = split

        def render() -> StoredView:
            return _stored(site().browse_page(kind, slug, number, sort), ext)

        try:
            view = holder.view(browse_key(kind, ext, sort, name), render)
        except NotFound:
            return not_found(request, f"{kind}/{name}")
        except BadRequest as err:
            return bad_request(request, err)
        return _response(view)

    def index(kind: str, ext: str) -> Response:
        page = site().index_page(kind)
        return _json(page) if ext == "json" else _html(page)

    # -- feeds (before the browse routes: /tag/{name} would catch /tag/PGOV.atom)

    @app.get("/feed.atom", include_in_schema=False)
    def feed_all(request: Request) -> Response:
        from ..feeds import atom_feed

        body = atom_feed(site().archive, base_url=base_url or str(request.base_url).rstrip("/"))
        return Response(body, media_type=ATOM)

    for kind in urls.FEED_KINDS:
        _add_feed_route(app, kind, site, base_url, not_found)

    for kind in urls.BROWSE_KINDS:
        _add_browse_routes(app, kind, browse, index)

    # -- search

    def index_current(head: int) -> bool:
        """Whether the search index had applied the change log up to ``head``: only
        then may a search page be kept until the next change (else it could show
        what the archive no longer does, until the index catches up)."""
        last_seq = getattr(site().archive.index, "last_seq", None)
        return last_seq is not None and int(last_seq) >= head

    def search_view(q: str, page: int, sort: str, ext: str) -> StoredView:
        def render() -> StoredView:
            return _stored(site().search_page(q, page, sort), ext)

        return holder.view(search_key(ext, q, page, sort), render, index_current)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, q: str = "", page: int = 0, sort: str = "relevance") -> Response:
        try:
            return _response(search_view(q, page, sort, "html"))
        except BadRequest as err:
            return bad_request(request, err)

    @app.get(
        "/search.json",
        response_model=models.SearchPage,
        tags=["search"],
        summary="Full-text search with facet counts and a histogram by month",
        responses={
            400: {
                "model": models.SearchPage,
                "description": "Invalid query (error.message, error.position)",
            }
        },
    )
    def search_json(
        request: Request,
        q: str = Query("", description="Query in the search language (docs/search.md)"),
        page: int = Query(0, ge=0, le=10_000_000, description="Result page, from 0 (20 per page)"),
        sort: Annotated[SearchSort, Query(description="Result order")] = "relevance",
    ) -> Response:
        try:
            return _response(search_view(q, page, sort, "json"))
        except BadRequest as err:
            return bad_request(request, err)

    # Issue 5: login/logout, /admin, comments and trackbacks (web/admin.py).
    register_publishing(app, lambda: holder.site, base_url)
    return app


def _add_browse_routes(app: FastAPI, kind: str, browse: Callable, index: Callable) -> None:
    title = urls.BROWSE_TITLES[kind]

    def index_html() -> Response:
        return index(kind, "html")

    def index_json() -> Response:
        return index(kind, "json")

    def index_redirect() -> Response:
        return RedirectResponse(urls.index_path(kind), status_code=301)

    def page_html(request: Request, name: str, sort: str | None = None) -> Response:
        return browse(request, kind, name, "html", sort)

    def page_json(
        request: Request,
        name: str,
        sort: Annotated[BrowseSort | None, Query(description="Sort (default per kind)")] = None,
    ) -> Response:
        return browse(request, kind, name, "json", sort)

    def bare(request: Request, name: str, sort: str | None = None) -> Response:
        return browse(request, kind, name, "html", sort)

    app.add_api_route(f"/{kind}/", index_redirect, include_in_schema=False)
    app.add_api_route(f"/{kind}", index_redirect, include_in_schema=False)
    app.add_api_route(f"/{kind}/index.html", index_html, include_in_schema=False)
    app.add_api_route(
        f"/{kind}/index.json",
        index_json,
        response_model=models.ValueIndex,
        tags=["browse"],
        summary=f"Every {title} with its number of cables",
        name=f"{kind}_index",
    )
    app.add_api_route(f"/{kind}/{{name}}.html", page_html, include_in_schema=False)
    app.add_api_route(
        f"/{kind}/{{name}}.json",
        page_json,
        response_model=models.BrowsePage,
        tags=["browse"],
        summary=f"Cables by {title}: one page of 50",
        description=f"`name` is the {title} slug and the page number from 0, e.g. "
        + {
            "reldate": "`2010-11-28_0`",
            "date": "`2007-05_0`",
            "origin": "`Embassy_Moscow_0`",
            "tag": "`PGOV_0`",
            "classification": "`SECRET_NOFORN_0`",
        }[kind]
        + ".",
        responses={404: {"model": models.Error}, 400: {"model": models.Error}},
        name=f"{kind}_page",
    )
    app.add_api_route(f"/{kind}/{{name}}", bare, include_in_schema=False)


def _add_feed_route(
    app: FastAPI, kind: str, site: Callable[[], Site], base_url: str, not_found: Callable
) -> None:
    def feed(request: Request, slug: str) -> Response:
        from ..feeds import atom_feed

        try:
            value = site().browse_value(kind, slug)
        except NotFound:
            return not_found(request, f"{kind}/{slug}")
        body = atom_feed(
            site().archive,
            kind=kind,
            value=value,
            base_url=base_url or str(request.base_url).rstrip("/"),
        )
        return Response(body, media_type=ATOM)

    app.add_api_route(f"/{kind}/{{slug}}.atom", feed, include_in_schema=False)
