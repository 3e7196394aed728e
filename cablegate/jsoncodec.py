"""JSON by orjson where it reads or writes the same as the standard library,
by ``json`` otherwise.

A static mirror decodes a ~20 KB stored record and encodes a JSON twin per
cable page; orjson does both 3-4 times faster (docs/performance.md, export-site).
The results are the same objects and, for the pages' data (str keys, strings,
ints, lists, dicts), the same bytes as ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))`` (tests/test_jsoncodec.py). What orjson refuses
(NaN, ints beyond 64 bits, lone surrogates, non-str keys, datetimes) goes to
``json``, as before.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - a declared dependency; json gives the same, slower
    orjson = None

# Datetimes and dataclasses are not written by orjson's own rules but handed on
# (as a TypeError), so they fail or convert exactly as with json.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS if orjson else 0


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``."""
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN, ints beyond 64 bits, lone surrogates
            pass
    return json.loads(text)


def _by_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _by_orjson(data: Any) -> bytes | None:
    """orjson's bytes, or None for a key or value it would not write as json does."""
    if orjson is None:
        return None
    try:
        return orjson.dumps(data, option=_STRICT)
    except TypeError:  # orjson.JSONEncodeError too
        return None


def compact_text(data: Any) -> str:
    """Compact JSON, non-ASCII characters as they are (the site's JSON twins,
    the stored records): ``json.dumps(data, ensure_ascii=False,
    separators=(",", ":"))``."""
    written = _by_orjson(data)
    return _by_json(data) if written is None else written.decode()


def compact_bytes(data: Any) -> bytes:
    """``compact_text(data)`` as UTF-8."""
    written = _by_orjson(data)
    return _by_json(data).encode() if written is None else written
