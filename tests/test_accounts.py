"""Accounts (accounts.py, web/auth.py, `cablegate user`): argon2 hashes, sessions
stored hashed, login throttling per username + client, cookies, login/logout
over real HTTP. Storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from _pubsite import ADMIN, EDITOR, csrf_token
from click.testing import CliRunner
from sqlalchemy import func, select

from cablegate import accounts, db
from cablegate.cli import cli
from cablegate.schema import login_attempts, sessions, users

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 1, 12, 0)
PASSWORD = "a long enough password"


@pytest.fixture
def engine(db_url):
    engine = db.get_engine(db_url)
    yield engine
    engine.dispose()


def add(engine, name="alice", role="editor", password=PASSWORD):
    with db.writing(engine) as conn:
        return accounts.create_user(conn, name, password, role, now=T0)


# --------------------------------------------------------------------------- users


def test_passwords_are_argon2id_hashes(engine):
    add(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.verify_password(stored, PASSWORD)
    assert not accounts.verify_password(stored, PASSWORD + "x")
    assert not accounts.verify_password("not a hash", PASSWORD)


def test_user_rules(engine):
    add(engine)
    with pytest.raises(accounts.AccountError, match="already"):
        add(engine)
    for name, role, password in (("bad name", "editor", PASSWORD), ("bob", "reader", PASSWORD),
                                 ("bob", "editor", "short"), ("", "editor", PASSWORD)):
        with pytest.raises(accounts.AccountError):
            add(engine, name, role, password)
    with engine.connect() as conn:
        assert [u["username"] for u in accounts.list_users(conn)] == ["alice"]


def test_sessions_store_only_a_hash_and_end(engine):
    user = add(engine)
    with db.writing(engine) as conn:
        token = accounts.create_session(conn, user, now=T0, hours=2)
    with engine.connect() as conn:
        stored = conn.execute(select(sessions.c.token_hash)).scalar_one()
        assert token not in stored and len(stored) == 64
        assert accounts.session_user(conn, token, now=T0 + timedelta(hours=1)) == user
        assert accounts.session_user(conn, token, now=T0 + timedelta(hours=3)) is None
        assert accounts.session_user(conn, token + "x", now=T0) is None
        assert accounts.session_user(conn, None) is None
    with db.writing(engine) as conn:
        accounts.end_session(conn, token)
    with engine.connect() as conn:
        assert accounts.session_user(conn, token, now=T0) is None


def test_new_password_or_disabling_ends_sessions(engine):
    user = add(engine)
    with db.writing(engine) as conn:
        token = accounts.create_session(conn, user, now=T0)
        accounts.set_password(conn, "alice", "another long password", by="admin", now=T0)
    with engine.connect() as conn:
        assert accounts.session_user(conn, token, now=T0) is None
    with db.writing(engine) as conn:
        token = accounts.create_session(conn, user, now=T0)
        accounts.set_disabled(conn, "alice", True, by="admin", now=T0)
    with db.writing(engine) as conn:
        assert accounts.session_user(conn, token, now=T0) is None
        assert accounts.authenticate(conn, "alice", "another long password", "c1", now=T0) is None
        accounts.set_disabled(conn, "alice", False, by="admin", now=T0)
        assert accounts.authenticate(conn, "alice", "another long password", "c1", now=T0)


# --------------------------------------------------------------------------- login throttling


def test_login_throttled_per_username_and_client(engine):
    add(engine)
    with db.writing(engine) as conn:
        assert accounts.authenticate(conn, "alice", PASSWORD, "c1", now=T0) is not None
        for i in range(5):
            assert accounts.authenticate(conn, "alice", "wrong", "c1",
                                         now=T0 + timedelta(seconds=i)) is None
        # Even the right password is refused now, from this client ...
        with pytest.raises(accounts.LoginThrottled) as err:
            accounts.authenticate(conn, "alice", PASSWORD, "c1", now=T0 + timedelta(seconds=10))
        assert 0 < err.value.retry_after <= 15 * 60
        # ... but not from another one, and not after the window.
        assert accounts.authenticate(conn, "alice", PASSWORD, "c2", now=T0 + timedelta(seconds=10))
        later = T0 + timedelta(minutes=16)
        assert accounts.authenticate(conn, "alice", PASSWORD, "c1", now=later) is not None
        attempts = conn.execute(select(func.count()).select_from(login_attempts)).scalar_one()
    # Throttled attempts are refused before the password is checked, and recorded
    # attempts never hold the client's address.
    assert attempts == 1 + 5 + 1 + 1


def test_unknown_users_are_throttled_too(engine):
    with db.writing(engine) as conn:
        for i in range(5):
            assert accounts.authenticate(conn, "nobody", "x", "c1",
                                         now=T0 + timedelta(seconds=i)) is None
        with pytest.raises(accounts.LoginThrottled):
            accounts.authenticate(conn, "nobody", "x", "c1", now=T0 + timedelta(seconds=6))


def test_client_keys_are_keyed_pseudonyms():
    a = accounts.client_key(b"secret-1", "203.0.113.9")
    assert a == accounts.client_key(b"secret-1", "203.0.113.9")
    assert a != accounts.client_key(b"secret-2", "203.0.113.9")
    assert "203.0.113.9" not in a and len(a) == 32


def test_limits_syntax():
    assert accounts.parse_limits("5/60, 20/3600", ()) == ((5, 60), (20, 3600))
    assert accounts.parse_limits(None, ((1, 2),)) == ((1, 2),)
    with pytest.raises(ValueError):
        accounts.parse_limits("5 per minute", ())


# --------------------------------------------------------------------------- CLI


def test_cli_user_add_with_prompt_and_stdin(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["user", "add", "carol", "--role", "admin", "--db", url],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "added admin carol" in result.output and PASSWORD not in result.output
    # Scripts: --password-stdin, in a real subprocess.
    done = subprocess.run(
        [sys.executable, "-m", "cablegate", "user", "add", "dave", "--role", "editor",
         "--password-stdin", "--db", url],
        input=f"{PASSWORD}\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    again = runner.invoke(cli, ["user", "add", "dave", "--role", "editor", "--password-stdin",
                                "--db", url], input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "already" in again.output
    mismatch = runner.invoke(cli, ["user", "add", "erin", "--role", "editor", "--db", url],
                             input=f"{PASSWORD}\nsomething else entirely\n"
                                   f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()
    listed = runner.invoke(cli, ["user", "list", "--db", url])
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [
        ["carol", "admin"], ["dave", "editor"], ["erin", "editor"]]
    engine = db.get_engine(url)
    with db.writing(engine) as conn:
        assert accounts.authenticate(conn, "dave", PASSWORD, "c") is not None


# --------------------------------------------------------------------------- over HTTP


def test_login_page_sets_a_safe_csrf_cookie(pub_site):
    client = pub_site.client()
    page = client.get("/login")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("cablegate_csrf=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    assert page.headers["cache-control"].startswith("no-store")
    assert "script-src 'none'" in page.headers["content-security-policy"]
    # Behind a TLS proxy (X-Forwarded-Proto from the trusted loopback) cookies are Secure.
    secure = pub_site.client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in secure.headers["set-cookie"]


def test_login_and_logout(pub_site):
    client = pub_site.client()
    assert client.get("/admin").status_code == 303
    page = client.get("/login?next=/admin/audit")
    response = client.post("/login", data={"username": EDITOR[0], "password": EDITOR[1],
                                           "next": "/admin/audit",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/admin/audit"
    session_cookie = [c for c in response.headers.get_list("set-cookie")
                      if c.startswith("cablegate_session=")][0]
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    dashboard = client.get("/admin")
    assert dashboard.status_code == 200 and EDITOR[0] in dashboard.text
    # Editors are not admins.
    assert client.get("/admin/users").status_code == 403
    token = client.cookies.get("cablegate_session")
    logout_page = client.get("/logout")
    assert logout_page.status_code == 200 and EDITOR[0] in logout_page.text
    logout = client.post("/logout", data={"csrf_token": csrf_token(logout_page.text)})
    assert logout.status_code == 303
    assert client.get("/admin").status_code == 303
    # The old cookie is worthless: its session row is gone.
    stale = pub_site.client()
    stale.cookies.set("cablegate_session", token)
    assert stale.get("/admin").status_code == 303


def test_login_redirects_only_to_this_site(pub_site):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = pub_site.client()
        page = client.get("/login")
        response = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                               "next": target,
                                               "csrf_token": csrf_token(page.text)})
        assert response.status_code == 303 and response.headers["location"] == "/admin"


def test_wrong_passwords_are_throttled_over_http(pub_site):
    client = pub_site.client()
    page = client.get("/login")
    token = csrf_token(page.text)
    codes = [client.post("/login", data={"username": EDITOR[0], "password": f"wrong {i}",
                                         "csrf_token": token}).status_code for i in range(5)]
    assert codes == [401] * 5
    blocked = client.post("/login", data={"username": EDITOR[0], "password": EDITOR[1],
                                          "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "Too many failed attempts" in blocked.text
    # The editor can still log in from elsewhere.
    assert pub_site.login(EDITOR).get("/admin").status_code == 200


def test_admin_manages_accounts(pub_site):
    admin = pub_site.login(ADMIN)
    page = admin.get("/admin/users")
    assert page.status_code == 200 and EDITOR[0] in page.text
    added = admin.post("/admin/users", data={"action": "add", "username": "newbie",
                                              "password": "newbie password 1", "role": "editor",
                                              "csrf_token": csrf_token(page.text)})
    assert added.status_code == 200 and "newbie" in added.text
    assert pub_site.login(("newbie", "newbie password 1")).get("/admin").status_code == 200
    disabled = admin.post("/admin/users", data={"action": "disable", "username": "newbie",
                                                 "csrf_token": csrf_token(added.text)})
    assert disabled.status_code == 200
    client = pub_site.client()
    login = client.get("/login")
    refused = client.post("/login", data={"username": "newbie", "password": "newbie password 1",
                                          "csrf_token": csrf_token(login.text)})
    assert refused.status_code == 401
