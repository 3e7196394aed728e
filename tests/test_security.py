"""Security of the publishing surfaces (issue 5), against a real server:

* XSS payloads in comment fields, trackback fields, search queries and cable
  text are inert — checked in real headless Chromium (Debian's /usr/bin/chromium
  driven by Playwright): no payload script runs, no dialog opens, and the DOM
  holds no element the payloads tried to create;
* every POST route (enumerated from the router) refuses a missing, wrong or
  foreign CSRF token with 403 (the Trackback endpoint is the one exemption);
* every /admin route refuses anonymous readers, and account pages refuse editors;
* SQL-injection strings in every parameter get normal answers and leave the
  database intact;
* oversized and malformed posts get a clear 4xx, never a 500.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _pubsite import ADMIN, app_routes, csrf_token
from sqlalchemy import func, select
from test_browser import ARGS, CHROMIUM  # the site tests' Chromium: Debian's, via Playwright

from cablegate.schema import cables, comments, redactions, trackbacks, users

ROOT = Path(__file__).resolve().parent.parent
FLAG = "window.__xss=1"
PAYLOADS = [
    f"<script>{FLAG}</script>",
    f'"><script>{FLAG}</script>',
    f"<img src=x onerror=\"{FLAG}\">",
    f"<svg onload={FLAG}>",
    f"'><iframe srcdoc=\"<script>parent.{FLAG}</script>\"></iframe>",
    f"</textarea><script>{FLAG}</script>",
    f"--><script>{FLAG}</script><!--",
    f"javascript:{FLAG}",
    f"https://x.example/?q=<script>{FLAG}</script>",
    "<!--cablegate:csrf-field--><cablegate:base>",
    f"<a href=\"javascript:{FLAG}\">click</a>",
]
SQLI = [
    "' OR '1'='1",
    "1; DROP TABLE cables; --",
    "\" OR 1=1 --",
    "') UNION SELECT password_hash, 1, 1 FROM users --",
    "%27%3B%20DELETE%20FROM%20comments%3B--",
    "\\'; UPDATE users SET role='admin'; --",
]
# A DOM probe: elements or attributes that only an executed payload would create.
PROBE = r"""() => {
  const found = [];
  for (const el of document.querySelectorAll('script')) {
    if (el.textContent.includes('__xss')) found.push('script');
  }
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.getAttributeNames()) {
      const value = el.getAttribute(attr) || '';
      const scripted = ['href', 'src', 'action', 'formaction'].includes(attr)
          && /^\s*javascript:/i.test(value);
      if (attr.startsWith('on') || attr === 'srcdoc' || scripted) {
        found.push(el.tagName + '@' + attr);
      }
    }
  }
  return found;
}"""


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/test installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def assert_inert(browser: Any, url: str, *, cookies: list[dict] | None = None) -> str:
    """Open ``url`` in Chromium; fail if any payload ran. Returns the page text."""
    context = browser.new_context(java_script_enabled=True)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status < 500, url
    page.wait_for_timeout(200)  # onload/onerror handlers would have run by now
    ran = page.evaluate("() => window.__xss")
    created = page.evaluate(PROBE)
    text = page.inner_text("body")
    context.close()
    assert ran is None, f"a payload ran on {url}"
    assert dialogs == [], f"a dialog opened on {url}: {dialogs}"
    assert created == [], f"payload elements in the DOM of {url}: {created}"
    return text


# --------------------------------------------------------------------------- helpers


def public_refid(pub_site, used: set[str] = set()) -> str:  # noqa: B006 - shared on purpose
    """A public corpus cable no other security test has used."""
    engine = pub_site.engine()
    with engine.connect() as conn:
        rows = conn.execute(
            select(cables.c.reference_id).where(cables.c.release_at < func.current_timestamp(),
                                                ~cables.c.subject.like("SYNTHETIC%"))
            .order_by(cables.c.reference_id.desc())).scalars().all()
        busy = set(conn.execute(select(comments.c.reference_id)).scalars()) | set(
            conn.execute(select(trackbacks.c.reference_id)).scalars()) | set(
            conn.execute(select(redactions.c.reference_id)).scalars())
    engine.dispose()
    refid = next(r for r in rows if r not in busy and r not in used and r != "08KYIV2414")
    used.add(refid)
    return refid


def cable_url(client, refid: str) -> str:
    response = client.get(f"/cable/{refid}")
    assert response.status_code == 301
    return response.headers["location"]


def counts(pub_site) -> dict[str, int]:
    engine = pub_site.engine()
    with engine.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
               for t in (cables, users, comments, trackbacks)}
        out["admins"] = conn.execute(select(func.count()).select_from(users)
                                     .where(users.c.role == "admin")).scalar_one()
    engine.dispose()
    return out


def fill(path: str, refid: str) -> str:
    params = set(re.findall(r"{(\w+)}", path))
    unknown = params - {"refid", "redaction_id", "year", "month", "name", "slug", "path"}
    assert not unknown, f"route {path}: unknown parameters {unknown} (extend fill())"
    return (path.replace("{refid}", refid).replace("{redaction_id}", "1")
            .replace("{year}", "2008").replace("{month}", "12").replace("{name}", "PGOV_0")
            .replace("{slug}", "PGOV").replace("{path}", "cables.css"))


# --------------------------------------------------------------------------- XSS


@pytest.mark.browser
def test_xss_in_comments_trackbacks_and_search_is_inert(pub_site, chromium):
    refid = public_refid(pub_site)
    reader = pub_site.client()
    url = cable_url(reader, refid)
    token = csrf_token(reader.get(url).text)
    for i, payload in enumerate(PAYLOADS):
        sent = reader.post(f"/cable/{refid}/comments", data={
            "name": payload[:100], "email": f"x{i}@example.org", "website": "",
            "comment": f"{payload} and {payload}\n\nhttps://ok.example/{i}", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        assert sent.status_code == 303, (payload, sent.status_code)
        # A website that is not plain http(s) is refused, not stored.
        bad = reader.post(f"/cable/{refid}/comments", data={
            "name": "N", "email": "n@example.org", "website": payload, "comment": "c",
            "csrf_token": token}, headers={"X-Forwarded-For": f"203.0.113.{i + 101}"})
        assert bad.status_code == 422, payload
        ping = pub_site.client().post(f"/cable/{refid}/trackback", data={
            "url": f"https://blog.example/{i}", "title": payload, "excerpt": payload,
            "blog_name": payload})
        assert ping.status_code == 200
    engine = pub_site.engine()
    with engine.connect() as conn:
        cids = list(conn.execute(select(comments.c.id).where(comments.c.reference_id == refid))
                    .scalars())
        tids = list(conn.execute(select(trackbacks.c.id)
                                 .where(trackbacks.c.reference_id == refid)).scalars())
        stored = list(conn.execute(select(comments.c.author_name)
                                   .where(comments.c.reference_id == refid)).scalars())
    engine.dispose()
    assert sorted(stored) == sorted(p[:100] for p in PAYLOADS)  # kept as written
    editor = pub_site.login()
    for kind, ids in (("comment", cids), ("trackback", tids)):
        queue = editor.get(f"/admin/discussion?kind={kind}")
        done = editor.post("/admin/discussion", data={
            "kind": kind, "status": "pending", "action": "approve", "ids": [str(i) for i in ids],
            "csrf_token": csrf_token(queue.text)})
        assert done.status_code == 303

    text = assert_inert(chromium, pub_site.base + url)
    assert "<script>window.__xss=1</script>" in text  # shown as text, not run
    assert_inert(chromium, f"{pub_site.base}/cable/{refid}.json")
    # The comment form shown back with errors, holding the payload.
    page = reader.get(url)
    back = reader.post(f"/cable/{refid}/comments", data={
        "name": "", "email": "bad", "website": "", "comment": PAYLOADS[5],
        "csrf_token": csrf_token(page.text)})
    assert back.status_code == 422 and "</textarea><script>" not in back.text
    # Searches echo the query: inert too.
    for payload in PAYLOADS:
        assert_inert(chromium, f"{pub_site.base}/search?q={quote(payload)}")
    # Editors' pages show the raw submissions (behind a no-script CSP as well).
    session = editor.cookies.get("cablegate_session")
    cookies = [{"name": "cablegate_session", "value": session, "url": pub_site.base}]
    for status in ("approved",):
        assert_inert(chromium, f"{pub_site.base}/admin/discussion?kind=comment&status={status}",
                     cookies=cookies)
        assert_inert(chromium, f"{pub_site.base}/admin/discussion?kind=trackback&status={status}",
                     cookies=cookies)


@pytest.mark.browser
def test_xss_in_cable_text_is_inert(pub_site, chromium, corpus, tmp_path):
    """A cable whose text and subject carry payloads (a modified real cable)."""
    from cablegate.ingest import ingest

    source = sorted((corpus / "cablegate_html/2011-04_avilaroman/cable/2009").rglob("*.html"))
    engine = pub_site.engine()
    with engine.connect() as conn:
        present = set(conn.execute(select(cables.c.reference_id)).scalars())
    page = next(p for p in source if p.stem not in present)
    escaped = "".join(
        p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + " "
        for p in PAYLOADS)
    html = page.read_text().replace("SUBJECT: ", f"SUBJECT: {escaped} ", 1)
    html = html.replace("&#x000A;&#x000A;<a id='par2'", f" {escaped}&#x000A;&#x000A;<a id='par2'",
                        1)
    target = tmp_path / page.name
    target.write_text(html)
    # No index here: the server owns it and follows the change log.
    summary = ingest([str(target)], engine, jobs=1)
    assert summary.new == 1
    from cablegate.public import PublicArchive

    record = PublicArchive(engine, None).get_cable(page.stem)
    assert "<script>window.__xss=1</script>" in record["subject"]
    engine.dispose()
    client = pub_site.client()
    url = cable_url(client, page.stem)
    text = assert_inert(chromium, pub_site.base + url)
    assert "<script>window.__xss=1</script>" in text
    assert_inert(chromium, f"{pub_site.base}/search?q={quote('window __xss')}")
    origin = client.get(f"{url.removesuffix('.html')}.json").json()["origin"]
    from cablegate.web import url_builder as urls

    assert_inert(chromium, pub_site.base + urls.browse_path("origin", origin))
    assert_inert(chromium, pub_site.base + "/")


# --------------------------------------------------------------------------- CSRF


def post_routes() -> list[str]:
    return sorted({p for p, methods in app_routes() if "POST" in methods})


def test_every_post_without_a_valid_csrf_token_is_refused(pub_site):
    refid = public_refid(pub_site)
    before = counts(pub_site)
    routes = post_routes()
    assert "/cable/{refid}/comments" in routes and "/admin/release" in routes
    editor = pub_site.login(ADMIN)
    page = editor.get("/admin")
    good = csrf_token(page.text)
    other = pub_site.login(ADMIN)  # another session: its token is not ours
    foreign = csrf_token(other.get("/admin").text)
    form = {"name": "N", "email": "n@example.org", "comment": "c", "username": "admin1",
            "password": "x" * 12, "at": "2001-01-01 00:00", "refids": refid, "text": "zzqqxxnotaword",
            "reason": "r", "kind": "comment", "action": "approve", "ids": "0", "role": "admin",
            "url": "https://blog.example/"}
    for path in routes:
        url = fill(path, refid)
        if path == "/cable/{refid}/trackback":
            continue  # Trackback 1.2: a cross-site protocol by design (see auth.py)
        for client in (pub_site.client(), editor):
            for token in (None, "forged-token", foreign):
                data = dict(form) if token is None else {**form, "csrf_token": token}
                response = client.post(url, data=data)
                assert response.status_code == 403, (path, token, response.status_code)
        # The same form with the right token is not refused for CSRF.
        if path not in ("/login", "/logout"):
            assert editor.post(url, data={**form, "csrf_token": good}).status_code != 403, path
    after = counts(pub_site)
    assert after["comments"] == before["comments"] + 1  # only the one with the good token
    assert after["admins"] == before["admins"]


def test_the_trackback_exemption_grants_nothing(pub_site):
    """No cookie or session matters there, and a ping only queues for moderation."""
    refid = public_refid(pub_site)
    editor = pub_site.login(ADMIN)
    response = editor.post(f"/cable/{refid}/trackback", data={"url": "https://b.example/x"})
    assert response.status_code == 200
    engine = pub_site.engine()
    with engine.connect() as conn:
        status = conn.execute(select(trackbacks.c.status)
                              .where(trackbacks.c.reference_id == refid)).scalar_one()
    engine.dispose()
    assert status == "pending"


# --------------------------------------------------------------------------- admin


def test_every_admin_route_refuses_the_public(pub_site):
    refid = public_refid(pub_site)
    anonymous = pub_site.client()
    admin_routes = [(p, m) for p, m in app_routes() if p.startswith("/admin")]
    assert len(admin_routes) >= 10
    for path, methods in admin_routes:
        url = fill(path, refid)
        if "GET" in methods:
            response = anonymous.get(url)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
            assert refid not in response.text
        if "POST" in methods:
            page = anonymous.get("/login")  # a valid CSRF token does not help either
            response = anonymous.post(url, data={"csrf_token": csrf_token(page.text),
                                                 "at": "2001-01-01 00:00", "refids": refid})
            assert response.status_code == 403, path
    # Editors are refused the account pages.
    editor = pub_site.login()
    assert editor.get("/admin/users").status_code == 403
    page = editor.get("/admin")
    assert editor.post("/admin/users", data={
        "action": "add", "username": "intruder", "password": "x" * 12, "role": "admin",
        "csrf_token": csrf_token(page.text)}).status_code == 403


# --------------------------------------------------------------------------- SQL injection


def test_sql_injection_strings_are_harmless(pub_site):
    refid = public_refid(pub_site)
    before = counts(pub_site)
    editor = pub_site.login()
    anonymous = pub_site.client()
    for path, methods in app_routes():
        if "GET" not in methods or path.startswith("/static"):
            continue
        client = editor if path.startswith("/admin") else anonymous
        for value in SQLI:
            url = fill(path, refid)
            variants = []
            for name in re.findall(r"{(\w+)}", path):
                variants.append(fill(path.replace("{" + name + "}", quote(value, safe="")), refid))
            for query in ("q", "sort", "page", "kind", "status", "embargoed", "next"):
                variants.append(f"{url}?{query}={quote(value, safe='')}")
            for variant in variants:
                response = client.get(variant)
                assert response.status_code < 500, (variant, response.status_code)
                assert "$argon2" not in response.text  # no hash ever comes out
    # Posted fields are stored as written, never executed.
    page = anonymous.get(cable_url(anonymous, refid))
    for i, value in enumerate(SQLI[:3]):
        response = anonymous.post(f"/cable/{refid}/comments", data={
            "name": value, "email": f"s{i}@example.org", "comment": value,
            "csrf_token": csrf_token(page.text)})
        assert response.status_code == 303
    login_page = anonymous.get("/login")
    for value in SQLI:
        response = anonymous.post("/login", data={"username": value, "password": value,
                                                  "csrf_token": csrf_token(login_page.text)})
        assert response.status_code in (401, 429)
    trackback = anonymous.post(f"/cable/{refid}/trackback", data={
        "url": "https://b.example/sql", "title": SQLI[1], "excerpt": SQLI[3]})
    assert trackback.status_code == 200
    after = counts(pub_site)
    assert after["cables"] == before["cables"] and after["users"] == before["users"]
    assert after["admins"] == before["admins"]
    assert after["comments"] == before["comments"] + 3
    engine = pub_site.engine()
    with engine.connect() as conn:
        bodies = set(conn.execute(select(comments.c.body)
                                  .where(comments.c.reference_id == refid)).scalars())
    engine.dispose()
    assert bodies == set(SQLI[:3])


# --------------------------------------------------------------------------- oversized, malformed


def test_oversized_and_malformed_posts_get_a_clear_4xx(pub_site):
    refid = public_refid(pub_site)
    client = pub_site.client()
    page = client.get(cable_url(client, refid))
    token = csrf_token(page.text)
    url = f"/cable/{refid}/comments"
    ok = {"name": "N", "email": "n@example.org", "comment": "c", "csrf_token": token}

    def status(**kwargs) -> int:
        response = client.post(url, **kwargs)
        assert response.status_code < 500, response.text[:300]
        return response.status_code

    assert status(data={**ok, "comment": "x" * 200_000}) == 413
    assert status(data={**ok, "comment": "x" * 6000}) == 422
    assert status(data={**ok, "name": "n" * 500}) == 422

    def chunks():  # no Content-Length: the limit holds while reading
        yield b"csrf_token=" + token.encode() + b"&comment="
        for _ in range(100):
            yield b"y" * 4096

    assert status(content=chunks(),
                  headers={"Content-Type": "application/x-www-form-urlencoded"}) == 413
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    assert status(content=f"csrf_token={token}&comment=%ff%fe".encode(), headers=form_type) == 400
    assert status(content=b"\xff\xfe\x00garbage", headers=form_type) == 400
    many = "&".join(f"f{i}=1" for i in range(500))
    assert status(content=f"csrf_token={token}&{many}".encode(), headers=form_type) == 400
    assert status(json={"comment": "c"}) == 415
    assert status(content=b"--x\r\ngarbage", headers={
        "Content-Type": "multipart/form-data; boundary=x"}) in (400, 403)
    assert status(data={"csrf_token": token, "name": "N"},
                  files={"comment": ("c.txt", b"file", "text/plain")}) == 400
    assert status(content=b"a=1", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=nonsense"}) == 415
    assert status(content=b"", headers=form_type) == 403  # no token at all
    # Trackbacks: the same limits, answered in the protocol's XML.
    ping = client.post(f"/cable/{refid}/trackback", data={"url": "https://b.example/",
                                                          "excerpt": "e" * 100_000})
    assert ping.status_code == 413 and "<error>1</error>" in ping.text
    bad = client.post(f"/cable/{refid}/trackback", content=b"url=%ff", headers=form_type)
    assert bad.status_code == 400 and "<error>1</error>" in bad.text
    # Login and admin forms.
    login = client.get("/login")
    assert client.post("/login", data={"username": "u", "password": "p" * 100_000,
                                       "csrf_token": csrf_token(login.text)}).status_code == 413
    editor = pub_site.login()
    dashboard = editor.get("/admin")
    assert editor.post("/admin/release/preview", data={
        "at": "2001-01-01 00:00", "refids": "X " * 600_000,
        "csrf_token": csrf_token(dashboard.text)}).status_code == 413
    assert editor.post(f"/admin/cable/{refid}/redactions/notanumber/lift", data={
        "csrf_token": csrf_token(dashboard.text)}).status_code == 422
    assert editor.get("/admin/discussion?page=-5").status_code == 400
    assert editor.get("/admin/discussion?kind=nonsense").status_code == 400
