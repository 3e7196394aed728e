"""Reference IDs, origin codes and the other lookups derived from ../shared/reference.

The tables live in ``cablegate/data/`` (built by ``scripts/build_reference_data.py``)
and are loaded lazily, once, on first use.

Canonical reference ID: ``YY`` (two-digit year) + origin code + serial without
leading zeros, e.g. ``07MOSCOW2205``. Decisions (docs/parsing.md):

* Variant spellings of a code (``SECSTATE``, ``USUN``...) resolve to the code
  through the reference alias table; the published ID is noted in ``warnings``.
* PlusD numbering (``1974ATHENS02959``) becomes the Cablegate form
  ``74ATHENS2959``; the published form is noted in ``warnings`` so it is kept.
* An ID that does not have the ``YY CODE SERIAL`` shape, or whose code is
  unknown (``09EFTOLONDON2468``, ``7575LIBREVILLE1895``), is kept exactly as
  published and flagged in ``warnings``: those are the IDs the site publishes.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Final

# Two-digit year (Cablegate) or a plausible four-digit year (PlusD numbering).
_ID_RE: Final = re.compile(r"(19[4-9]\d|20[0-3]\d|\d{2})([A-Z][A-Z-]{0,40}?)(\d{1,7})")
_NAME_JUNK: Final = re.compile(r"[\s.'-]+")


@dataclass(frozen=True)
class Origin:
    code: str
    name: str
    name_status: str  # observed | corpus | derived | ambiguous | reference_only
    kind: str
    routing_indicator: str


def _data_text(name: str) -> str:
    return resources.files("cablegate").joinpath("data", name).read_text(encoding="utf-8")


def _data_rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_data_text(name).splitlines()))


@cache
def origins() -> dict[str, Origin]:
    """Origin code -> Origin (origins.csv)."""
    return {
        row["code"]: Origin(
            row["code"], row["name"], row["name_status"], row["kind"], row["routing_indicator"]
        )
        for row in _data_rows("origins.csv")
    }


@cache
def _code_index() -> dict[str, str]:
    """Every known spelling of an origin code (spaces removed) -> the code."""
    index: dict[str, str] = {}
    for row in _data_rows("origins.csv"):
        for alias in row["aliases"].split():
            index.setdefault(alias, row["code"])
    for code in origins():
        index[code] = code  # a real code always wins over another code's alias
    return index


@cache
def _routing() -> dict[str, dict[str, str]]:
    return {row["routing_indicator"]: row for row in _data_rows("routing.csv")}


@cache
def _address_indexes() -> tuple[dict[str, str], dict[str, str]]:
    """Plain language address (``AMEMBASSY MOSCOW``) -> origin code: (primary, other names)."""
    primary: dict[str, str] = {}
    secondary: dict[str, str] = {}
    for row in _routing().values():
        code = row["origin_code"]
        if not code or row["scope"] != "state_post":
            continue
        primary.setdefault(row["address"], code)
        for other in row["other_names"].split(" | "):
            if other:
                secondary.setdefault(other, code)
    return primary, secondary


@cache
def reference_data() -> dict[str, Any]:
    """reference.json: precedences, reason categories, caveats, paragraph markings."""
    return json.loads(_data_text("reference.json"))


@cache
def _tags() -> dict[str, dict[str, str]]:
    return {row["tag"]: row for row in _data_rows("tags.csv")}


# --------------------------------------------------------------------------- codes


@lru_cache(maxsize=8192)
def resolve_code(name: str) -> str | None:
    """The origin code for a post as written (``SECSTATE``, ``USUN NEW YORK``, ``Sao Paulo``)."""
    key = _NAME_JUNK.sub("", name).upper()
    return _code_index().get(key)


def is_code(code: str) -> bool:
    return code in origins()


def origin_name(code: str | None, *, confirmed_only: bool = True) -> str | None:
    """The WikiLeaks-style origin name of a code (``MOSCOW`` -> ``Embassy Moscow``).

    With ``confirmed_only`` (the default), only names seen as a published Origin
    value (status ``observed`` or ``corpus``) are returned: names the reference
    built by rule are a guess, and ambiguous codes (``BRUSSELS``) have none.
    """
    origin = origins().get(code or "")
    if origin is None:
        return None
    if confirmed_only and origin.name_status not in ("observed", "corpus"):
        return None
    return origin.name


@lru_cache(maxsize=4096)
def code_for_address(address: str) -> str | None:
    """The origin code of a sender address as in ``FM AMEMBASSY MOSCOW``."""
    key = " ".join(address.upper().split())
    primary, secondary = _address_indexes()
    # Order matters: USEU BRUSSELS is the code USEUBRUSSELS although RUEHBS
    # (Embassy Brussels) lists it among its other names.
    return primary.get(key) or _code_index().get(key.replace(" ", "")) or secondary.get(key)


def routing_name(routing_indicator: str) -> str | None:
    """Post or addressee name of a routing indicator (``RUEHMO`` -> ``Embassy Moscow``)."""
    row = _routing().get(routing_indicator.upper())
    if row is None:
        return None
    return row["post_name"] or row["address"] or None


@lru_cache(maxsize=4096)
def routing_code(routing_indicator: str) -> str | None:
    """Origin code of a post's routing indicator (``RUEHMO`` -> ``MOSCOW``)."""
    row = _routing().get(routing_indicator.upper())
    return (row or {}).get("origin_code") or None


def tag_info(tag: str) -> dict[str, str] | None:
    """kind, category, meaning and confidence of a TAGS value, or None."""
    return _tags().get(tag.upper())


def precedence_name(letter: str) -> str | None:
    """``O`` -> ``IMMEDIATE`` (ACP prosign letters)."""
    entry = reference_data()["precedences"].get(letter.upper())
    return entry["name"] if entry else None


def reason_category(reason: str) -> str | None:
    """Category text of a normalised reason such as ``1.4(b)`` or ``1.5(d)``."""
    match = re.fullmatch(r"(1\.[45])?\(([a-h])\)", reason)
    if not match:
        return None
    section, letter = match.groups()
    key = "EO12958_1995_sec1.5" if section == "1.5" else "EO12958_as_amended_2003_sec1.4"
    return reference_data()["reason_categories"][key]["items"].get(letter)


def caveat_meaning(marking: str) -> str | None:
    caveats = reference_data()["caveats"]
    for key, value in caveats.items():
        if marking == key or marking in key.split(" / "):
            return value["meaning"]
    return None


# --------------------------------------------------------------------------- IDs


def split_id(ref_id: str) -> tuple[str, str, str] | None:
    """``07MOSCOW2205`` -> (``07``, ``MOSCOW``, ``2205``); None when not that shape."""
    match = _ID_RE.fullmatch(ref_id)
    if match is None or len(match.group(1)) != 2:
        return None
    return match.group(1), match.group(2), match.group(3)


def canonical_id(published: str) -> tuple[str, list[str]]:
    """The canonical form of a published reference ID, and warnings about it."""
    text = published.strip()
    match = _ID_RE.fullmatch(text.upper())
    if match is None:
        return text, [f"reference_id: malformed published ID {text!r} kept as published"]
    year, name, serial = match.groups()
    warnings: list[str] = []
    code = _code_index().get(name.replace("-", ""))
    if code is None:
        return text, [f"reference_id: unknown origin code in {text!r}; kept as published"]
    canonical = f"{year[-2:]}{code}{int(serial)}"
    if canonical != text:
        how = "PlusD numbering" if len(year) == 4 else "variant form"
        warnings.append(f"reference_id: published as {text!r} ({how})")
    return canonical, warnings


def make_id(year: str | int | None, name: str, serial: str) -> str | None:
    """Canonical ID from a written reference (``07``, ``MOSCOW``, ``002205``), or None."""
    code = resolve_code(name)
    if code is None or year is None or not serial.isdigit():
        return None
    year_text = str(year)
    if len(year_text) == 4:
        year_text = year_text[2:]
    if len(year_text) != 2 or not year_text.isdigit() or int(serial) == 0:
        return None
    return f"{year_text}{code}{int(serial)}"


def code_of(ref_id: str | None) -> str | None:
    """The origin code inside a (canonical or malformed) reference ID."""
    if not ref_id:
        return None
    parts = split_id(ref_id)
    if parts:
        return parts[1]
    match = re.fullmatch(r"\d+([A-Z][A-Z-]*?)\d+", ref_id)
    return match.group(1) if match else None
