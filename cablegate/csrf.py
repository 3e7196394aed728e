"""CSRF protection for every form of the site (comments, login, logout, admin).

Double submit, bound and signed: the browser holds a random ``cablegate_csrf``
cookie (HttpOnly, SameSite=Lax); every form carries the token

    HMAC-SHA256(site secret, "csrf" | csrf cookie | session cookie)

and every POST must send a token equal to the one computed from the cookies it
arrives with. Another site can neither read our cookies nor compute the HMAC,
so it cannot forge the field; binding the session cookie too means a token
minted before a login (or planted with a cookie) is worthless after it.

Cable pages are rendered once and cached for every reader, so their comment
form carries the placeholder ``FIELD_PLACEHOLDER`` instead of a token;
``fill_page`` swaps in the reader's own token (and the site's address, for
the Trackback auto-discovery block) when the page is served. The
placeholders contain ``<``, which escaped archive or reader text can never
produce, so only the template's own placeholders are replaced.

Cookies are ``Secure`` when the request came over HTTPS (``CABLEGATE_COOKIE_SECURE``
= ``auto``, the default; ``always`` or ``never`` to force).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "cablegate_csrf"
SESSION_COOKIE = "cablegate_session"
FIELD = "csrf_token"
COOKIE_MAX_AGE = 30 * 24 * 3600
FIELD_PLACEHOLDER = "<!--cablegate:csrf-field-->"
BASE_PLACEHOLDER = "<cablegate:base>"
_FIELD_BYTES = FIELD_PLACEHOLDER.encode()
_BASE_BYTES = BASE_PLACEHOLDER.encode()


# --------------------------------------------------------------------------- tokens


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def token_for(secret: bytes, csrf_cookie: str, session_cookie: str | None) -> str:
    message = b"csrf\0" + csrf_cookie.encode() + b"\0" + (session_cookie or "").encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def valid_token(
    secret: bytes, sent: Any, csrf_cookie: str | None, session_cookie: str | None
) -> bool:
    """Whether ``sent`` (the form field) is the token of these cookies."""
    if not isinstance(sent, str) or not csrf_cookie or len(sent) > 100:
        return False
    return hmac.compare_digest(sent, token_for(secret, csrf_cookie, session_cookie))


# --------------------------------------------------------------------------- requests


def cookie_secure(request: Request) -> bool:
    return secure_for_scheme(request.url.scheme)


def secure_for_scheme(scheme: str) -> bool:
    """Whether our cookies get ``Secure``: over HTTPS, unless configured otherwise."""
    mode = os.environ.get("CABLEGATE_COOKIE_SECURE", "auto").lower()
    if mode in ("always", "1", "true", "yes"):
        return True
    if mode in ("never", "0", "false", "no"):
        return False
    return scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    """Our cookies: HttpOnly, SameSite=Lax, Secure over HTTPS, whole site."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=cookie_secure(request),
        httponly=True, samesite="lax",
    )


def secret_of(request: Request) -> bytes:
    return request.app.state.publishing.secret


def csrf_cookie(request: Request) -> tuple[str, bool]:
    """(this browser's CSRF cookie value, whether it is new and must be set)."""
    value = request.cookies.get(COOKIE)
    if usable_cookie(value):
        return value, False
    # Minted once per request, so several forms on one page share it.
    minted = getattr(request.state, "csrf_minted", None)
    if minted is None:
        minted = request.state.csrf_minted = new_cookie_value()
    return minted, True


def form_token(request: Request) -> str:
    """The token to put in a form served with this request (see ``remember_cookie``)."""
    value, _new = csrf_cookie(request)
    return token_for(secret_of(request), value, request.cookies.get(SESSION_COOKIE))


def remember_cookie(request: Request, response: Response) -> Response:
    """Set the CSRF cookie on ``response`` when this request minted it."""
    value, new = csrf_cookie(request)
    if new:
        set_cookie(response, request, COOKIE, value, COOKIE_MAX_AGE)
    return response


def usable_cookie(value: str | None) -> bool:
    """Whether a CSRF cookie sent by a browser can be kept (else a new one is minted)."""
    return bool(value) and 20 <= len(value) <= 100


def field_html(request: Request) -> str:
    return hidden_field(form_token(request))


def hidden_field(token: str) -> str:
    return f'<input type="hidden" name="{FIELD}" value="{escape(token)}">'


def check(request: Request, form: Any) -> bool:
    """Whether a POST's form carries the valid token for its cookies."""
    return valid_token(
        secret_of(request), form.get(FIELD), request.cookies.get(COOKIE),
        request.cookies.get(SESSION_COOKIE),
    )


def site_base(request: Request) -> str:
    configured = getattr(request.app.state.publishing, "base_url", "")
    return configured or str(request.base_url).rstrip("/")


def fill_page(request: Request, body: bytes, media_type: str) -> Response:
    """A cached page's bytes with this reader's CSRF field and the site address
    put in place of the placeholders (a page without them is served as is)."""
    if _FIELD_BYTES in body:
        body = body.replace(_FIELD_BYTES, field_html(request).encode())
    if _BASE_BYTES in body:
        body = body.replace(_BASE_BYTES, escape(site_base(request)).encode())
    response = Response(body, media_type=media_type)
    return remember_cookie(request, response)
