"""The site in a real headless Chromium (Debian's chromium driven by Playwright):
open a cable page, follow a ¶ link, a tag, a reference, a browse index, run a
search and refine it by a facet, with JavaScript off (the site needs none).
Screenshots of the main pages go to test-output/screenshots/ (desktop and a
375 px phone)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/test installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def tab(browser, live_site):
    context = browser.new_context(java_script_enabled=False, base_url=live_site.base,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def shot(page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def a_citing_demo_cable(http, site_archive) -> tuple[str, str]:
    """(page of a demo cable citing a public cable, page of the cited cable)."""
    for refid in site_archive.demo_ids:
        if refid in site_archive.embargoed:
            continue
        record = http.get(f"/cable/{refid}.json", follow_redirects=True).json()
        inside = [c for c in record["cites"] if c["in_archive"]]
        if inside and record["paragraphs"]:
            target = inside[0]["reference_id"]
            year, month = inside[0]["url_date"]
            return record["links"]["html"], f"/cable/{year}/{month}/{target}.html"
    raise AssertionError("no demo cable cites a public cable")


def test_cable_page_paragraph_tag_and_reference_links(tab, http, site_archive):
    path, cited = a_citing_demo_cable(http, site_archive)
    tab.goto(path)
    assert tab.locator("h1").inner_text().startswith("Viewing cable ")
    shot(tab, "cable-demo")
    # A ¶ link: the URL gets #par2 and that anchor becomes the :target.
    tab.locator("a#par2").click()
    assert tab.url.endswith(f"{path}#par2")
    assert tab.evaluate("document.querySelector(':target').id") == "par2"
    # A reference in the body box leads to the cited cable.
    tab.locator(f"pre.body-text a[href='{cited}']").first.click()
    tab.wait_for_url(f"**{cited}")
    assert tab.locator("h1").inner_text().startswith("Viewing cable ")
    # A tag in the TAGS line leads to its tag page, which lists this cable.
    refid = cited.rsplit("/", 1)[1].removesuffix(".html")
    tag_link = tab.locator("pre.body-text a[href^='/tag/']").first
    tag = tag_link.inner_text()
    tag_link.click()
    tab.wait_for_url("**/tag/**")
    assert tab.locator("h1").inner_text() == f"Cables by tag: {tag}"
    shot(tab, "browse-tag")
    listed = tab.locator("table.cables td.refid a").all_inner_texts()
    assert refid in listed or tab.locator("nav.pager").count() == 1


def test_real_cable_page_and_browse_index(tab, site_archive):
    tab.goto("/cable/08KYIV2414")  # redirects to /cable/2008/12/08KYIV2414.html
    assert tab.url.endswith("/cable/2008/12/08KYIV2414.html")
    assert tab.locator("abbr[title='Secretary of State']").count() >= 1
    assert tab.locator("details.diff ins, details.diff del").count() > 0
    shot(tab, "cable-real", full_page=False)  # a long page: the first screen
    tab.locator("details.diff").last.screenshot(path=str(SHOTS / "cable-real-diff.png"))
    tab.locator("table.cable-meta td[data-label='Origin'] a").click()
    tab.wait_for_url("**/origin/**")
    assert tab.locator("h1").inner_text().startswith("Cables by origin: ")
    tab.goto("/")
    shot(tab, "home")
    tab.locator("nav.main-nav a", has_text="Creation date").click()
    tab.wait_for_url("**/date/index.html")
    shot(tab, "index-date")
    first = tab.locator("ul.values a").first
    month = first.inner_text()
    first.click()
    assert tab.locator("h1").inner_text() == f"Cables by creation date: {month}"
    assert tab.locator("table.cables tbody tr").count() >= 1


def test_search_and_refine_by_a_facet(tab):
    tab.goto("/")
    tab.fill("#q-top", "minister")
    tab.locator("form.search-box button").click()
    tab.wait_for_url("**/search?q=minister**")
    total = int(tab.locator("p.total strong").inner_text().replace(",", ""))
    assert total > 0
    assert tab.locator(".snippet mark").count() > 0
    assert tab.locator("figure.histogram svg rect").count() > 0
    shot(tab, "search")
    facet = tab.locator(".facets a").first
    facet_count = int(facet.locator("xpath=following-sibling::span").inner_text().replace(",", ""))
    facet.click()
    tab.wait_for_url("**/search?q=**")
    refined = int(tab.locator("p.total strong").inner_text().replace(",", ""))
    assert refined == facet_count < total or refined == facet_count == total
    shot(tab, "search-refined")


def test_invalid_query_message_and_no_script_runs(tab, browser, live_site):
    tab.goto("/search?q=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%20(")
    assert "could not be read" in tab.locator(".error").inner_text()
    shot(tab, "search-error")
    # With JavaScript on, the echoed payload must stay inert too.
    context = browser.new_context(base_url=live_site.base)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    page.wait_for_timeout(300)
    assert dialogs == []
    context.close()


def test_phone_width_is_readable(browser, live_site, site_archive):
    context = browser.new_context(java_script_enabled=False, base_url=live_site.base,
                                  viewport={"width": 375, "height": 800}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(60_000)
    demo = next(r for r in site_archive.demo_ids if r not in site_archive.embargoed)
    for path, name in ((f"/cable/{demo}", "phone-cable"), ("/cable/08KYIV2414", "phone-cable-real"),
                       ("/", "phone-home"), ("/search?q=minister", "phone-search")):
        page.goto(path)
        # Nothing but the wide tables' own scroll boxes may overflow the screen width.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, (path, overflow)
        shot(page, name, full_page=name != "phone-cable-real")
    context.close()
