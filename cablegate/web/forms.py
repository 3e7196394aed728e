"""Reading posted forms with limits: a clear 4xx for anything too big or malformed.

Starlette parses url-encoded forms of any size; here the body is read with a
byte limit first (413 past it, whatever Content-Length claims), then parsed
with a limit on the number of fields (400 past it) and on its encoding.
Only ``application/x-www-form-urlencoded`` and ``multipart/form-data``
without files are accepted (415 otherwise).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import Request

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200  # the moderation page posts one field per selected item


class FormError(Exception):
    """A posted form that cannot be read: ``status`` (400/411/413/415) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise FormError(400, "malformed Content-Length")
        if int(declared) > max_bytes:
            raise FormError(413, f"the form is too large (at most {max_bytes:,} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise FormError(413, f"the form is too large (at most {max_bytes:,} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip().strip('"').lower()
    return "utf-8"


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> FormData:
    """The posted form, or FormError."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise FormError(415, "send the form as application/x-www-form-urlencoded")
    body = await read_body(request, max_bytes)
    if kind == "multipart/form-data":
        return await _multipart(request, body)
    charset = _charset(content_type)
    try:
        text = body.decode(charset)
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          encoding=charset, errors="strict", max_num_fields=MAX_FIELDS)
    except LookupError:
        raise FormError(415, f"unknown charset {charset[:40]!r}") from None
    except UnicodeError:
        raise FormError(400, f"the form is not valid url-encoded {charset} text") from None
    except ValueError:
        raise FormError(400, f"too many fields (at most {MAX_FIELDS})") from None
    return FormData(pairs)


async def _multipart(request: Request, body: bytes) -> FormData:
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def replay():
        yield body

    try:
        form = await MultiPartParser(
            request.headers, replay(), max_files=0, max_fields=MAX_FIELDS,
            max_part_size=len(body) + 1,
        ).parse()
    except MultiPartException as err:
        raise FormError(400, f"malformed multipart form: {err.message}") from None
    except Exception as err:  # the parser raises various errors on garbage
        raise FormError(400, f"malformed multipart form: {type(err).__name__}") from None
    if any(not isinstance(value, str) for _key, value in form.multi_items()):
        raise FormError(400, "file uploads are not accepted")
    return form
