"""The FastAPI application: routes of the public site over a PublicArchive.

``create_app(archive_factory)`` builds the app; ``archive_factory()`` is called
once per process, on first use, so each uvicorn worker opens its own database
engine and search index. Every page is rendered by ``Site`` (also used by the
static mirror); this module maps URLs to pages, caches rendered cable pages,
and answers HTML or the JSON twin.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..csrf import fill_page
from . import models
from . import url_builder as urls
from .admin import register as register_publishing
from .cache import PageCache
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

    @property
    def site(self) -> Site:
        if self._site is None:
            with self._lock:
                if self._site is None:
                    archive = self._factory()
                    if self._page_store:  # rendered pages shared by all workers, on disk
                        from .pagestore import PageStore

                        self._cache = PageStore(archive, self._page_store)
                    else:
                        self._cache = PageCache(archive)
                    self._site = Site(archive, **self._options)
        return self._site

    @property
    def cache(self) -> Any:
        """PageStore or PageCache: ``get(refid, render)`` -> page with html/json bytes."""
        _ = self.site
        assert self._cache is not None
        return self._cache


_CABLE_PATH = re.compile(r"^/cable/(\d{4})/(\d{2})/([A-Za-z0-9_.-]{1,64})\.(html|json)$")


class CablePages:
    """ASGI middleware answering cable page requests from the page cache.

    The cable page is most of the traffic; answering it here, before routing,
    dependency injection and the other middleware, roughly halves the cost of
    a cached page. Anything else (a miss that is not found, a wrong year or
    month, other methods) goes on to the app, which answers the same way.
    """

    def __init__(self, app: Any, holder: SiteHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            match = _CABLE_PATH.match(scope["path"])
            if match:
                year, month, refid, ext = match.groups()
                try:
                    page = self.holder.cache.get(refid, self.holder.site.cable_page)
                except NotFound:
                    page = None
                if page is not None and page.path == f"/cable/{year}/{month}/{refid}.html":
                    if ext == "json":
                        response = Response(page.json_bytes, media_type=JSON)
                    else:
                        # Issue 5: this reader's CSRF token into the cached page's form.
                        response = fill_page(Request(scope, receive), page.html_bytes, HTML)
                    response.headers["access-control-allow-origin"] = "*"
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _html(page: Page) -> Response:
    return HTMLResponse(page.html, status_code=page.status)


def _json(page: Page) -> Response:
    return Response(_json_bytes(page.data), status_code=page.status, media_type=JSON)


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
        try:
            page = site().browse_page(kind, slug, number, sort)
        except NotFound:
            return not_found(request, f"{kind}/{name}")
        except BadRequest as err:
            return bad_request(request, err)
        return _json(page) if ext == "json" else _html(page)

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

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search(request: Request, q: str = "", page: int = 0, sort: str = "relevance") -> Response:
        try:
            result = site().search_page(q, page, sort)
        except BadRequest as err:
            return bad_request(request, err)
        return _html(result)

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
            result = site().search_page(q, page, sort)
        except BadRequest as err:
            return bad_request(request, err)
        return _json(result)

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
