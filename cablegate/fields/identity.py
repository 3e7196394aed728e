"""Identity and dates: reference ID, origin code and origin, created and
released (docs/parsing.md, "Identity")."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Final

from .. import ids
from ..record import Record
from .classification import Banner
from .common import MONTHS, text_of
from .header import Header


def fill_identity(record: Record, meta: dict, info: Header, banner: Banner | None,
                  warnings: list[str]) -> None:
    """reference_id, origin_code, origin, created, released."""
    published = text_of(meta.get("reference_id"))
    hint = text_of(meta.get("reference_id_hint"))
    ref_id: str | None
    if published:
        ref_id, notes = ids.canonical_id(published.replace(" ", ""))
        warnings += notes
    else:
        # the text's own banner and DTG, else the file name's ID (reader hint)
        ref_id = _id_from_text(banner, info)
        hinted = ids.canonical_id(hint.replace(" ", "")) if hint else None
        if ref_id and hinted and hinted[0] != ref_id:
            warnings.append(
                f"reference_id: the text says {ref_id}, the file name {hinted[0]}; text kept"
            )
        elif ref_id is None and hinted:
            ref_id = hinted[0]
            warnings += hinted[1]
        elif ref_id is None:
            warnings.append("reference_id: not found")
    record["reference_id"] = ref_id

    sender_code = ids.code_for_address(info.sender) if info.sender else None
    station_code = ids.routing_code(info.station) if info.station else None
    code = None
    if ref_id:
        parts = ids.split_id(ref_id)
        code = parts[1] if parts and ids.is_code(parts[1]) else None
        if code is None:
            loose = ids.code_of(ref_id)
            code = loose if loose and ids.is_code(loose) else None
    record["origin_code"] = code or sender_code or station_code or ids.code_of(ref_id)

    origin = text_of(meta.get("origin"))
    if origin is None and sender_code:
        # the FM line names the sender: its name by the site's convention
        origin = ids.origin_name(sender_code, confirmed_only=False)
        if ids.origins().get(sender_code) and ids.origins()[sender_code].name_status in (
            "reference_only", "ambiguous"
        ) and not sender_code.startswith("USEU"):
            origin = ids.origin_name(sender_code)
    if origin is None and record["origin_code"]:
        origin = ids.origin_name(record["origin_code"])
    record["origin"] = origin

    record["created"] = _created(meta, info, warnings)
    record["released"] = _iso_datetime(meta.get("released"), "released", warnings)


def _created(meta: dict, info: Header, warnings: list[str]) -> str | None:
    """The source's created timestamp; else the DTG (when it agrees with a
    date-only ``created_date`` the source gives); else that date at 00:00,
    flagged in warnings because the time is not stated."""
    if meta.get("created") is not None:
        return _iso_datetime(meta.get("created"), "created", warnings)
    from_dtg = _dtg_datetime(info.dtg) if info.dtg else None
    day = text_of(meta.get("created_date"))
    if day is None:
        return from_dtg
    if from_dtg and from_dtg[:10] == day:
        return from_dtg
    stamp = _iso_datetime(day, "created_date", warnings)
    if stamp:
        warnings.append("created: the source states the date only; time set to 00:00")
    return stamp


def _id_from_text(banner: Banner | None, info: Header) -> str | None:
    if banner is None or info.dtg is None:
        return None
    year = info.dtg.split()[-1]
    return ids.make_id(year, banner.post, banner.serial)


def year_of(record: Record) -> str | None:
    ref_id = record.get("reference_id") or ""
    if ref_id[:2].isdigit() and not ref_id[2:3].isdigit():
        return ref_id[:2]
    created = record.get("created") or ""
    return created[2:4] if created[:4].isdigit() else None


_ISO_RE: Final = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?"
)

_US_RE: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?)?")

_RUBY_RE: Final = re.compile(  # Ruby Time#to_s: "Wed Oct 09 00:00:00 +0200 2002"
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):\d{2}"
    r"(?: [+-]\d{4}| [A-Z]{3,4})? (\d{4})"
)


def _iso_datetime(value: object, name: str, warnings: list[str]) -> str | None:
    """``YYYY-MM-DDTHH:MM`` from the metadata forms: ``2007-05-14 03:19``,
    ``12/28/1966 18:48`` (cables.csv), ``Wed Oct 09 00:00:00 +0200 2002`` (alx)."""
    if isinstance(value, str) and len(value) == 16 and value[10] in "T ":
        fast = _valid_iso(value)  # the readers' own form, "2007-05-14T03:19"
        if fast:
            return fast
    text = text_of(value)
    if text is None:
        return None
    parts: tuple | None = None
    if match := _ISO_RE.fullmatch(text):
        parts = (match[1], match[2], match[3], match[4] or "0", match[5] or "0")
    elif match := _US_RE.fullmatch(text):
        parts = (match[3], match[1], match[2], match[4] or "0", match[5] or "0")
    elif match := _RUBY_RE.fullmatch(text):
        month = MONTHS.get(match[1].upper())
        if month:
            parts = (match[5], str(month), match[2], match[3], match[4])
    if parts is None:
        warnings.append(f"{name}: unrecognised date {text!r}")
        return None
    try:
        year, month, day, hour, minute = (int(p) for p in parts)
        date(year, month, day)
        if hour > 23 or minute > 59:
            raise ValueError("time out of range")
    except ValueError:
        warnings.append(f"{name}: invalid date {text!r}")
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"


def _valid_iso(value: str) -> str | None:
    if value[4] != "-" or value[7] != "-" or value[13] != ":":
        return None
    try:
        hour, minute = int(value[11:13]), int(value[14:16])
    except ValueError:
        return None
    if hour > 23 or minute > 59 or not _valid_day(value[:10]):
        return None
    return value[:10] + "T" + value[11:]


@lru_cache(maxsize=4096)
def _valid_day(text: str) -> bool:
    """``YYYY-MM-DD`` is a real day (many cables share a day: cached)."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _dtg_datetime(dtg: str) -> str | None:
    """``140319Z MAY 07`` -> ``2007-05-14T03:19`` (two-digit years >= 50 are 19xx)."""
    try:
        stamp, month_name, year_text = dtg.replace(" Z", "Z").split()
        month = MONTHS[month_name.upper()]
        day, hour, minute = int(stamp[0:2]), int(stamp[2:4]), int(stamp[4:6])
        year = int(year_text)
        year += 1900 if year >= 50 else 2000
        date(year, month, day)
        if hour > 23 or minute > 59:
            return None
    except (ValueError, KeyError):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
