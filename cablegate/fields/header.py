"""The transmission header: DTG, DE (transmission ID), FM, TO/INFO addressees
and the precedence (docs/parsing.md, "Transmission header")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from .classification import BANNER_RE, CLASS_WORD_LINE, LEVEL_ONLY_RE
from .common import MAX_LINE, MONTHS, PARTIAL_NOTICE

_HEADER_LINES: Final = 400  # transmission header lines scanned
_PARTIAL_PREFIX: Final = PARTIAL_NOTICE[:30]
# the first letters of the lines that end an addressee list (_addressee_ends)
_ENDS_FIRST: Final = frozenset("EeTSBNXDCUL")

_PRECEDENCE: Final = {"Z": "FLASH", "O": "IMMEDIATE", "P": "PRIORITY", "R": "ROUTINE",
               "Y": "EMERGENCY", "W": "FLASH OVERRIDE"}

# Transmission header lines (one line each, already stripped of ¶ and spaces).
_DTG_RE: Final = re.compile(
    r"(?:([ZOPRYW])(?:\s([ZOPRYW]))?\s+)?(\d{6}\s?Z\s+[A-Za-z]{3}\s+\d{2})\b(?!\d)"
)

_DE_RE: Final = re.compile(r"DE\s+(R[A-Z]{3,7}\s*#\s?\d{1,5}(?:/\d{1,3})?(?:\s+\d{7})?)")

_TRANSMISSION_RE: Final = re.compile(r"([ZOPRYW])\1\s+R[A-Z]{3,7}\b")

_SECURITY_RE: Final = re.compile(r"ZN[YR]\s+([UCSTE])\1{4}\b")

_FM_RE: Final = re.compile(r"FM\s+(\S.*?)\s*$")

_DISTRIBUTION_RE: Final = re.compile(r"(?:INFO|ACTION)\s+[A-Z]{1,6}-\d\d\b")

_ADDRESSEE_PRECEDENCE_RE: Final = re.compile(
    r"\b(NIACT IMMEDIATE|FLASH|IMMEDIATE|PRIORITY|ROUTINE)\b"
)

_HEADER_NOISE_RE: Final = re.compile(
    r"(?:VZCZC|ZZH\b|ZNY\b|ZNR\b|BT$|NNNN|PAGE\s+\d|-{5,}|[A-Z]{1,6}-\d\d\b|/\d{3}W\b)"
)


@dataclass
class Header:
    """What the transmission header says."""

    dtg: str | None = None
    precedence_letters: list[str] = field(default_factory=list)
    transmission_precedence: str | None = None
    transmission_id: str | None = None
    station: str | None = None
    security_letter: str | None = None
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    info_recipients: list[str] = field(default_factory=list)


def has_transmission(info: Header) -> bool:
    """The header states anything of a transmission (else the body's top is read)."""
    return bool(info.dtg or info.sender or info.transmission_id or info.recipients)


def scan_header(lines: list[str]) -> Header:
    """DTG, DE, FM, TO/INFO lines of an ACP-127 header (or a bare DTG header)."""
    info = Header()
    mode: str | None = None  # "to" / "info" while inside an addressee list
    for raw_line in lines[:_HEADER_LINES]:
        line = raw_line.strip() if len(raw_line) < MAX_LINE else raw_line[:MAX_LINE].strip()
        if "\u00b6" in line:
            line = line.replace("\u00b6", "").strip()
        if not line:
            if info.recipients or info.info_recipients:
                mode = None
            continue
        # each kind of line opens with its own letters: test the first one
        # before the line itself (most lines are addressees)
        first = line[0]
        if mode:
            if first in _ENDS_FIRST and _addressee_ends(line):
                mode = None
                if BANNER_RE.match(line) or LEVEL_ONLY_RE.match(line):
                    break
            elif first not in "TI" or not line.startswith(("TO ", "INFO ")):
                _add_addressee(info, mode, line)  # a continuation line
                continue
        if first == "T" and line.startswith(_PARTIAL_PREFIX):
            continue
        if first == "D" and info.transmission_id is None and line.startswith("DE "):
            match = _DE_RE.match(line)
            if match:
                info.transmission_id = " ".join(match.group(1).split())
                info.station = match.group(1).split()[0].split("#")[0]
                continue
        # a DTG opens with its digits, or with a precedence letter and a space
        if info.dtg is None and (first.isdecimal() or first in _PRECEDENCE and (
            line[1:2].isspace()
        )):
            match = _DTG_RE.match(line)
            if match and match.group(3).split()[-2].upper() in MONTHS:
                info.dtg = " ".join(match.group(3).split())
                info.precedence_letters = [g for g in match.group(1, 2) if g]
                mode = None
                continue
        if first == "F" and info.sender is None and line.startswith("FM "):
            sender = _FM_RE.match(line)
            if sender:  # (not a bare "FM ")
                info.sender = sender.group(1)
                mode = None
                continue
        if first in "TI" and line.startswith(("TO ", "INFO ")):
            if first == "I" and "-" in line and _DISTRIBUTION_RE.match(line):
                mode = None  # NARA "INFO LOG-00 NP-00 ..." distribution codes
                continue
            keyword, _, rest = line.partition(" ")
            mode = "to" if keyword == "TO" else "info"
            _add_addressee(info, mode, rest)
            continue
        if first not in _PRECEDENCE:
            continue  # neither a transmission line (OO RUEHWEB) nor a security line (ZNY)
        if info.transmission_precedence is None and line[1:2] == first:  # "OO RUEHWEB"
            match = _TRANSMISSION_RE.match(line)
            if match:
                info.transmission_precedence = match.group(1)
                continue
        if info.security_letter is None and line.startswith("ZN"):
            match = _SECURITY_RE.match(line)
            if match:
                info.security_letter = match.group(1)
    return info



def _addressee_ends(line: str) -> bool:
    """An addressee list ends at the body's first lines (E.O., TAGS, SUBJECT,
    the classification line) or at the trailer (BT, NNNN); the caller has
    checked that the line opens with one of ``_ENDS_FIRST``."""
    return bool(
        line.startswith(("E.O.", "EO ", "TAGS", "SUBJ", "SIPDIS", "BT", "NNNN", "XMT", "DE "))
        or LEVEL_ONLY_RE.match(line)
        and (BANNER_RE.match(line) or line.strip() in CLASS_WORD_LINE)
    )



def _add_addressee(info: Header, mode: str, text: str) -> None:
    """One addressee as written (``RUEHC/SECSTATE WASHDC PRIORITY 4785``).

    A classification banner glued to the end of the last line (alx texts) is
    cut off; header noise (relay lines, distribution codes) is skipped.
    """
    text = text.strip()
    if "  " in text or "\t" in text:
        text = " ".join(text.split())
    if "UNCLAS" in text or "C O N" in text or "S E C" in text or "CONFIDENTIAL" in text or (
        "SECRET" in text or "LIMITED" in text
    ):
        glued = BANNER_RE.search(text)
        if glued and glued.start() > 0:
            text = text[: glued.start()].strip()
    if not text or (text[0] in "VZBNP-/" or "-" in text[1:7]) and _HEADER_NOISE_RE.match(text):
        return  # (every noise form opens with one of those, or has "-" after 1-6 letters)
    target = info.recipients if mode == "to" else info.info_recipients
    if len(target) < 500:
        target.append(text)


def precedence_of(info: Header) -> str | None:
    """IMMEDIATE/PRIORITY/... from the DTG prosign (action precedence), else the
    transmission line, else the precedence word of the first TO addressee.
    NIACT IMMEDIATE when an action addressee line says so."""
    letter = info.precedence_letters[0] if info.precedence_letters else info.transmission_precedence
    name = _PRECEDENCE.get(letter) if letter else None
    words = None
    for addressee in info.recipients[:50]:
        match = _ADDRESSEE_PRECEDENCE_RE.search(addressee)
        if match:
            words = match.group(1)
            break
    if words == "NIACT IMMEDIATE" and name in (None, "IMMEDIATE"):
        return words
    return name or words
