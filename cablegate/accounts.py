"""Editors' and admins' accounts: users, roles, passwords, sessions, login throttling.

Readers are anonymous and have no account. An *editor* schedules releases,
edits redactions and moderates the discussion; an *admin* can also manage
accounts. Everything here works on the raw tables of the archive's database
(``schema.users``, ``sessions``, ``login_attempts``):

* passwords are stored as argon2id hashes (argon2-cffi's defaults, rehashed on
  login when those defaults grow);
* a session is a random 256-bit token in a cookie; the database keeps only its
  SHA-256, so a copy of the database cannot be replayed as a login;
* login attempts are recorded per username and *client* (a keyed hash of the
  address: the address itself is never stored) and throttled by windows of
  failures, so guessing passwords is slow without locking anyone out from
  elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .db import utcnow
from .schema import audit_log, login_attempts, sessions, site_secrets, users

ROLES = ("editor", "admin")
USERNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
SESSION_HOURS = float(os.environ.get("CABLEGATE_SESSION_HOURS", "12"))
# Failed logins allowed per window: (count, seconds). Per username + client,
# and per client over all usernames (password spraying).
LOGIN_LIMIT_USER_CLIENT = ((5, 15 * 60), (20, 24 * 3600))
LOGIN_LIMIT_CLIENT = ((30, 15 * 60),)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """A request about accounts that cannot be done (bad name, role, password...)."""


class LoginThrottled(Exception):
    """Too many failed logins for this username and client; ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can(self, role: str) -> bool:
        """Whether this user has at least ``role`` (admin includes editor)."""
        return role == "editor" or self.role == "admin"


# --------------------------------------------------------------------------- secrets


def site_secret(engine_or_conn: Engine | Connection) -> bytes:
    """The site's secret key: ``CABLEGATE_SECRET`` if set, else the random key
    migration 0002 stored in the database (shared by every app server)."""
    env = os.environ.get("CABLEGATE_SECRET")
    if env:
        return env.encode()
    query = select(site_secrets.c.value).where(site_secrets.c.name == "secret_key")
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            value = conn.execute(query).scalar()
    else:
        value = engine_or_conn.execute(query).scalar()
    if not value:  # pragma: no cover - the migration always creates it
        raise RuntimeError("the database has no secret key; run `cablegate db upgrade`")
    return value.encode()


def client_key(secret: bytes, address: str | None) -> str:
    """A stable pseudonym of a client address (keyed, so it cannot be reversed
    by hashing every IPv4 address)."""
    digest = hmac.new(secret, b"client:" + (address or "unknown").encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def parse_limits(
    text: str | None, default: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """``"5/60,20/3600"`` -> ((5, 60), (20, 3600)): at most N events per S seconds."""
    if not text:
        return tuple(default)
    limits = []
    for part in text.split(","):
        count, _, seconds = part.strip().partition("/")
        if not (count.isdigit() and seconds.isdigit()) or int(seconds) == 0:
            raise ValueError(f"bad rate limit {part!r}: expected COUNT/SECONDS, e.g. 5/60")
        limits.append((int(count), int(seconds)))
    return tuple(limits)


# --------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- users


def check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.fullmatch(username):
        raise AccountError(
            "a username is 1-64 letters, digits, '.', '_', '-' or '@', starting with a "
            "letter or digit"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def create_user(
    conn: Connection, username: str, password: str, role: str, *, by: str = "cli",
    now: datetime | None = None,
) -> User:
    """Add an account (in the caller's transaction); AccountError if the name is taken."""
    username, role = check_username(username), check_role(role)
    now = now or utcnow()
    hashed = hash_password(password)
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                insert(users).values(
                    username=username, password_hash=hashed, role=role, created_at=now
                )
            ).inserted_primary_key[0]
    except IntegrityError as err:
        raise AccountError(f"there is already a user named {username!r}") from err
    audit(conn, by, "user.add", None, {"username": username, "role": role}, now)
    return User(int(new_id), username, role)


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(
        select(users.c.id, users.c.username, users.c.role).where(
            users.c.username == username, users.c.disabled_at.is_(None)
        )
    ).first()
    return None if row is None else User(row.id, row.username, row.role)


def list_users(conn: Connection) -> list[dict]:
    rows = conn.execute(
        select(users.c.id, users.c.username, users.c.role, users.c.created_at,
               users.c.last_login_at, users.c.disabled_at).order_by(users.c.username)
    )
    return [dict(r._mapping) for r in rows]


def set_password(conn: Connection, username: str, password: str, *, by: str,
                 now: datetime | None = None) -> None:
    """New password; every session of the user ends (a stolen cookie stops working)."""
    now = now or utcnow()
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise AccountError(f"no user named {username!r}")
    conn.execute(update(users).where(users.c.id == row.id)
                 .values(password_hash=hash_password(password)))
    conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
    audit(conn, by, "user.password", None, {"username": username}, now)


def set_role(conn: Connection, username: str, role: str, *, by: str,
             now: datetime | None = None) -> None:
    role = check_role(role)
    done = conn.execute(update(users).where(users.c.username == username).values(role=role))
    if not done.rowcount:
        raise AccountError(f"no user named {username!r}")
    audit(conn, by, "user.role", None, {"username": username, "role": role}, now or utcnow())


def set_disabled(conn: Connection, username: str, disabled: bool, *, by: str,
                 now: datetime | None = None) -> None:
    """Disable (no login, sessions ended) or re-enable an account."""
    now = now or utcnow()
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise AccountError(f"no user named {username!r}")
    conn.execute(update(users).where(users.c.id == row.id)
                 .values(disabled_at=now if disabled else None))
    if disabled:
        conn.execute(delete(sessions).where(sessions.c.user_id == row.id))
    audit(conn, by, "user.disable" if disabled else "user.enable", None,
          {"username": username}, now)


# --------------------------------------------------------------------------- login


def _failures(conn: Connection, where, since: datetime) -> int:
    return conn.execute(
        select(func.count()).select_from(login_attempts).where(
            where, login_attempts.c.succeeded.is_(False),
            login_attempts.c.attempted_at > since,
        )
    ).scalar_one()


def login_wait(
    conn: Connection, username: str, client: str, now: datetime,
    user_client_limits: Sequence[tuple[int, int]] = LOGIN_LIMIT_USER_CLIENT,
    client_limits: Sequence[tuple[int, int]] = LOGIN_LIMIT_CLIENT,
) -> int:
    """Seconds this client must wait before trying ``username`` again (0: may try)."""
    checks = [
        ((login_attempts.c.username == username) & (login_attempts.c.client == client),
         user_client_limits),
        (login_attempts.c.client == client, client_limits),
    ]
    wait = 0
    for where, limits in checks:
        for count, seconds in limits:
            since = now - timedelta(seconds=seconds)
            if _failures(conn, where, since) >= count:
                oldest = conn.execute(
                    select(func.min(login_attempts.c.attempted_at)).where(
                        where, login_attempts.c.succeeded.is_(False),
                        login_attempts.c.attempted_at > since,
                    )
                ).scalar_one()
                wait = max(wait, int((oldest + timedelta(seconds=seconds) - now)
                                     .total_seconds()) + 1)
    return wait


def authenticate(
    conn: Connection, username: str, password: str, client: str, *,
    now: datetime | None = None,
    user_client_limits: Sequence[tuple[int, int]] = LOGIN_LIMIT_USER_CLIENT,
    client_limits: Sequence[tuple[int, int]] = LOGIN_LIMIT_CLIENT,
) -> User | None:
    """The user whose name and password these are, or None; every attempt is
    recorded. Raises LoginThrottled (without checking the password) when this
    client has failed too often."""
    now = now or utcnow()
    username = (username or "").strip()[:64]
    wait = login_wait(conn, username, client, now, user_client_limits, client_limits)
    if wait:
        raise LoginThrottled(wait)
    row = conn.execute(
        select(users.c.id, users.c.username, users.c.role, users.c.password_hash).where(
            users.c.username == username, users.c.disabled_at.is_(None)
        )
    ).first()
    ok = verify_password(row.password_hash if row else _DUMMY_HASH, password) and row is not None
    conn.execute(insert(login_attempts).values(
        username=username, client=client, attempted_at=now, succeeded=ok))
    if not ok:
        return None
    values: dict = {"last_login_at": now}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(update(users).where(users.c.id == row.id).values(**values))
    return User(row.id, row.username, row.role)


def forget_old_attempts(conn: Connection, now: datetime, keep_days: int = 2) -> None:
    conn.execute(delete(login_attempts).where(
        login_attempts.c.attempted_at < now - timedelta(days=keep_days)))


# --------------------------------------------------------------------------- sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(conn: Connection, user: User, *, now: datetime | None = None,
                   hours: float = SESSION_HOURS) -> str:
    """A new session for ``user``; returns the token for the cookie (not stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(
        token_hash=_token_hash(token), user_id=user.id, created_at=now,
        expires_at=now + timedelta(hours=hours), last_seen_at=now,
    ))
    # Expired sessions and old attempts are swept here, at the rare logins.
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    forget_old_attempts(conn, now)
    return token


def session_user(
    conn: Connection, token: str | None, *, now: datetime | None = None
) -> User | None:
    """The user of a live session token, or None (unknown, expired, disabled)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = conn.execute(
        select(users.c.id, users.c.username, users.c.role)
        .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
        .where(sessions.c.token_hash == _token_hash(token), sessions.c.expires_at > now,
               users.c.disabled_at.is_(None))
    ).first()
    return None if row is None else User(row.id, row.username, row.role)


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(delete(sessions).where(sessions.c.token_hash == _token_hash(token)))


# --------------------------------------------------------------------------- audit


def audit(conn: Connection, actor: str, action: str, reference_id: str | None,
          detail: dict | None, now: datetime) -> None:
    """One line of the editors' audit log, in the caller's transaction."""
    import json

    conn.execute(insert(audit_log).values(
        at=now, actor=actor[:200], action=action, reference_id=reference_id,
        detail=None if detail is None else json.dumps(detail, ensure_ascii=False, default=str),
    ))


def recent_audit(conn: Connection, limit: int = 50, reference_id: str | None = None) -> list[dict]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if reference_id is not None:
        query = query.where(audit_log.c.reference_id == reference_id)
    return [dict(r._mapping) for r in conn.execute(query)]
