"""Response models of the JSON API (the JSON twins of the pages), for OpenAPI.

The routes return JSON they build themselves (no per-request validation cost);
these models document it, and the schemathesis test checks that every response
conforms to them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Summary(_Model):
    reference_id: str
    subject: str | None = None
    created: str | None = None
    released: str | None = None
    origin: str | None = None
    classification: str | None = None
    tags: list[str] = Field(default_factory=list)
    url: str = Field(description="Path of the cable page")


class Paragraph(_Model):
    number: int | str | None = None
    marking: str | None = None
    text: str | None = None


class Revision(_Model):
    revision: int
    ingested_at: str | None = None
    released: str | None = None
    source_format: str | None = None


class Cite(_Model):
    reference_id: str
    in_archive: bool
    url_date: list[str] | None = Field(None, description="[YYYY, MM] of the cited cable's page")


class CitedBy(_Model):
    reference_id: str
    subject: str | None = None
    created: str | None = None


class CableLinks(_Model):
    html: str
    json_: str = Field(alias="json")
    wikileaks: str
    plusd: str


class Cable(_Model):
    """A cable's public record (see cablegate/record.py) with its links."""

    reference_id: str
    created: str | None = None
    released: str | None = None
    classification: str | None = None
    origin: str | None = None
    origin_code: str | None = None
    subject: str | None = None
    tags: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    references_raw: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    info_recipients: list[str] = Field(default_factory=list)
    signers: list[str] = Field(default_factory=list)
    classified_by: str | None = None
    classification_reasons: list[str] = Field(default_factory=list)
    declassify_on: str | None = None
    precedence: str | None = None
    dtg: str | None = None
    transmission_id: str | None = None
    caveats: list[str] = Field(default_factory=list)
    summary: str | None = None
    paragraphs: list[Paragraph] = Field(default_factory=list)
    media_urls: list[str] = Field(default_factory=list)
    partial: bool = False
    header: str | None = None
    body: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    revision: int | None = None
    revisions: list[Revision] = Field(default_factory=list)
    cites: list[Cite] = Field(default_factory=list)
    cited_by: list[CitedBy] = Field(default_factory=list)
    unresolved_references: list[str] = Field(default_factory=list)
    links: CableLinks


class BrowsePage(_Model):
    kind: str
    value: str
    page: int = Field(description="Page number, from 0")
    pages: int
    total: int
    sort: str
    results: list[Summary]
    next: str | None = None
    previous: str | None = None


class ValueCount(_Model):
    value: str
    count: int
    url: str
    title: str | None = None


class ValueIndex(_Model):
    kind: str
    values: list[ValueCount]


class Home(_Model):
    released: int = Field(description="Cables released so far")
    total: int = Field(description="Cables in the archive, released or not")
    latest: list[Summary]


class SearchHit(Summary):
    snippet: str | None = Field(None, description="HTML-safe snippet; matches in <b>")


class SearchPage(_Model):
    query: str
    sort: str
    page: int
    total: int | None = None
    pages: int | None = None
    results: list[SearchHit] = Field(default_factory=list)
    facets: dict[str, dict[str, int]] = Field(default_factory=dict)
    histogram: dict[str, int] = Field(default_factory=dict, description="YYYY-MM -> count")
    error: ErrorDetail | None = None


class ErrorDetail(_Model):
    message: str
    position: int | None = Field(None, description="Character offset of the error in the query")


class Error(_Model):
    error: str
    detail: str | None = None


class ReasonItem(_Model):
    code: str
    anchor: str | None = Field(None, description="id of its entry on /reasons.html, if any")
    text: str


class Regime(_Model):
    key: str
    title: str
    items: list[ReasonItem]
    wording_status: str | None = None


class Reasons(_Model):
    regimes: list[Regime]
    crosswalk: list[dict[str, Any]]


SearchPage.model_rebuild()
