"""The classification statements of a cable: the classification line that
opens the body (banner), the caveats of the caption, the E.O./DECL line, the
Classified By sentence and its reasons, and the classification a text-only
source states (docs/parsing.md, "Head of the body")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from .common import (
    CLASSIFIED_RE,
    HEAD_KEY_RE,
    MARK_ONLY_RE,
    PARA_RE,
    REF_STOP_RE,
    SUBJECT_RE,
    end_of_line,
)

# Classification banner: level (plain or spaced) [extras] [SECTION nn OF nn] POST SERIAL.
_LEVEL: Final = (
    r"(?P<level>T\s?O\s?P\s+S\s?E\s?C\s?R\s?E\s?T|(?:S(?=S))?S\s?E\s?C\s?R\s?E\s?T"
    r"|C\s?O\s?N\s?F\s?I\s?D\s?E\s?N\s?T\s?I\s?A\s?L"
    r"|U\s?N\s?C\s?L\s?A\s?S(?:\s?S\s?I\s?F\s?I\s?E\s?D)?"
    r"|L\s?I\s?M\s?I\s?T\s?E\s?D\s+O\s?F\s?F\s?I\s?C\s?I\s?A\s?L\s+U\s?S\s?E)"
)

BANNER_RE: Final = re.compile(
    _LEVEL + r"(?P<extra>(?:\s+(?:E\s?F\s?T\s?O|SENSITIVE|NOFORN|SIPDIS|EXDIS|NODIS|LIMDIS))*)"
    r"\s+(?:SECTION\s+\d{1,2}\s+OF\s+\d{1,2}\s+)?"
    r"(?P<post>[A-Z][A-Z.'-]*(?:\s[A-Z][A-Z.'-]*){0,3}?)\s+(?P<serial>\d{3,7})(?![\d/])"
)

LEVEL_ONLY_RE: Final = re.compile(_LEVEL + r"\b")

CLASS_WORD_LINE: Final = frozenset(
    {"UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "LIMITED OFFICIAL USE", "UNCLAS"}
)

# The E.O. line (``E.O. 12958: DECL: 05/11/2017``) and its date.
EO_RE: Final = re.compile(r"E\s?[.,]?\s?[O0](?!\d)\s?\.?\s?:?\s?(1\d{4})\b\s*:?")

_DECL_DATE_RE: Final = re.compile(
    r"(?:DECL|GDS|RDS|XGDS)\w*\s*:?\s*(?:ON\s+)?"
    r"(?:(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})|(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4}))(?!\d)",
    re.I,
)

# Classified By: who, up to the reasons (``1.4 (b) and (d)``).
_CLASSIFIED_END_RE: Final = re.compile(
    r"(?i)[\s,;:]*(?:\bfor\s+|)(?:\breasons?\b|\bper\s+(?:e\.?o\.?|1\s*[.,/:]\s*[456]|section|reasons?)"
    r"|\bunder\b|\be\.?o\.?\s*1\d{4}|(?<![\d.])1\s*[.,/:]\s*[456](?!\d)|\(\s*[a-h]\s*\)|$)"
)

# (the look-behinds sit after the first character so that the regex opens
# with a literal or a character set, which re's search skips to quickly)
_SECTION_RE: Final = re.compile(r"1(?<![\d.]1)\s*[.,/:]\s*([456])(?!\d)\.?")

# the sentence so far ends where the reason letters must follow on the next line
_REASON_PENDING_RE: Final = re.compile(r"(?i)(?:1\s*[.,/:]\s*[456]\.?|reasons?:?|\band|[,&/])\s*$")

_BARE_REASONS_RE: Final = re.compile(r"(?i)\breasons?\s*:?\s*")

_REASON_TOKEN_RE: Final = re.compile(r"\s+|[()]|[A-Za-z]+|[,;&/+.:]|.", re.S)

# Caveats: handling and dissemination markings in the caption lines of the head.
# NOFORN SIPDIS EXDIS NODIS LIMDIS STADIS ORCON PROPIN NOCONTRACT FGI EFTO SBU SENSITIVE
# DISSENT CHANNEL CHEROKEE ROGER TERREP REL TO ... VISAS ... CORRECTED COPY, the
# alternatives grouped by first letter (in their order within a letter, so the
# same one wins): a position is tried against one group, not all of them.
_CAVEAT_RE: Final = re.compile(
    r"(N(?:\s?O\s?F\s?O\s?R\s?N|\s?O\s?D\s?I\s?S|OCONTRACT)"
    r"|S(?:\s?I\s?P\s?D\s?I\s?S|\s?T\s?A\s?D\s?I\s?S|BU|ENSITIVE BUT UNCLASSIFIED|ENSITIVE)"
    r"|E(?:\s?X\s?D\s?I\s?S|FTO| F T O)|L\s?I\s?M\s?D\s?I\s?S|ORCON|PROPIN|FGI|DISSENT CHANNEL"
    r"|C(?:HEROKEE|\s?O\s?R\s?R\s?E\s?C\s?T\s?E\s?D\s+C\s?O\s?P\s?Y)"
    r"|R(?:OGER|EL TO [A-Z][A-Z, ]{1,40}?(?=\s*$|\s{2}))|TERREP"
    r"|VISAS (?:VIPER|DONKEY|MANTIS|CONDOR))"
)

# Caveats that are also ordinary words count only on a line made of caveats.
_CAVEATS_OWN_LINE: Final = frozenset({"SENSITIVE", "ROGER", "CHEROKEE", "FGI", "TERREP"})


@dataclass
class Banner:
    """The classification line: level, extra markings, post and serial."""

    level: str
    extra: str
    post: str
    serial: str
    line_index: int
    glued: bool  # written at the end of another line (``AMCONSUL IZMIRUNCLAS ...``)


def _strip_pilcrow(line: str) -> str:
    """Lines in alx/PDF texts keep the site's ¶ marks: ``¶1. (C)``, ``¶E. O. 12958``."""
    if "\u00b6" in line[:8]:
        return line.replace("\u00b6", "", 1)
    return line


def find_banner(lines: list[str]) -> Banner | None:
    """The classification line that opens the body (``C O N F I D E N T I A L
    SECTION 01 OF 02 MOSCOW 002205``), searched in the first lines."""
    for index, raw_line in enumerate(lines[:150]):
        line = _strip_pilcrow(raw_line)[:300]
        stripped = line.strip()
        if not stripped or stripped[0] not in "CSULT":
            # glued banner at the end of an addressee line (alx texts)
            if "UNCLAS" in line or "C O N F" in line or "S E C R" in line:
                match = BANNER_RE.search(line)
                if match and match.start() > 0 and not line[: match.start()].strip().startswith(
                    ("PAGE", "TO PAGE")
                ):
                    return _banner_from(match, index, glued=True)
            continue
        match = BANNER_RE.match(stripped)
        if match:
            return _banner_from(match, index)
    return None


_LEVEL_NAMES: Final = {"UNCLAS": "UNCLASSIFIED", "LIMITEDOFFICIALUSE": "LIMITED OFFICIAL USE",
                "TOPSECRET": "TOP SECRET"}


def _banner_from(match: re.Match[str], index: int, glued: bool = False) -> Banner:
    """The Banner of a ``BANNER_RE`` match on line ``index``."""
    level = match.group("level").replace(" ", "")
    level = _LEVEL_NAMES.get(level, level)
    extra = " ".join(match.group("extra").split())
    post = " ".join(match.group("post").split())
    return Banner(level, extra, post, match.group("serial"), index, glued)


def classification_of(banner: Banner | None, security_letter: str | None,
                      caveats: list[str]) -> str | None:
    """The classification a text-only source states, in the site's vocabulary:
    the banner level (else the letter of the header's ZNY/ZNR security line),
    ``//NOFORN`` when the cable carries NOFORN, ``UNCLASSIFIED//FOR OFFICIAL
    USE ONLY`` for an UNCLAS SENSITIVE (SBU) cable — the convention of the
    Cablegate site."""
    level = banner.level if banner else None
    if level is None and security_letter:
        level = {"U": "UNCLASSIFIED", "C": "CONFIDENTIAL", "S": "SECRET",
                 "T": "TOP SECRET", "E": "UNCLASSIFIED"}.get(security_letter)
    if level is None:
        return None
    if level == "UNCLASSIFIED" and ("SENSITIVE" in caveats or "SBU" in caveats):
        return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    if level in ("CONFIDENTIAL", "SECRET") and "NOFORN" in caveats:
        return f"{level}//NOFORN"
    return level


def find_classified(text: str, position: int = 0) -> re.Match[str] | None:
    """``Classified By:`` (any case), not the tail of DECLASSIFIED/UNCLASSIFIED."""
    lower = text.find("lassified", position)
    upper = text.find("LASSIFIED", position)
    while lower >= 0 or upper >= 0:
        found = upper if lower < 0 or 0 <= upper < lower else lower
        start = found - 1
        if start >= 0 and (start == 0 or not text[start - 1].isalpha()):
            match = CLASSIFIED_RE.match(text, start)
            if match:
                return match
        position = found + 9
        # the next occurrence of each spelling (one found further on still is)
        if 0 <= lower < position:
            lower = text.find("lassified", position)
        if 0 <= upper < position:
            upper = text.find("LASSIFIED", position)
    return None


def declassify_on(eo_line: str, warnings: list[str]) -> str | None:
    """ISO date of ``E.O. 12958: DECL: 05/11/2017`` (also ``yyyy/mm/dd``, two-digit
    years, ``GDS 8/12/85``); None for N/A, OADR, X1, 25X1 and other non-dates."""
    match = _DECL_DATE_RE.search(eo_line[:200])
    if not match:
        return None
    if match.group(1):
        year, month, day = match.group(1, 2, 3)
    else:
        month, day, year = match.group(4, 5, 6)
    year_n = int(year)
    if len(year) == 2:
        year_n += 1900 if year_n >= 50 else 2000
    elif len(year) == 3:
        warnings.append(f"declassify_on: unreadable date {match.group(0).strip()!r}")
        return None
    try:
        return date(year_n, int(month), int(day)).isoformat()
    except ValueError:
        warnings.append(f"declassify_on: invalid date {match.group(0).strip()!r}")
        return None


def sentence_after(text: str, start: int) -> tuple[str, int]:
    """The Classified By sentence (up to three non-blank lines: it wraps) and
    the offset where it ends. It stops at the first line that ends with a
    full stop once the reasons have been read."""
    out: list[str] = []
    pos = start
    stop = start
    while pos < len(text) and len(out) < 3:
        end = end_of_line(text, pos)
        line = text[pos:end]
        stripped = line.strip()
        if out and not _REASON_PENDING_RE.search(out[-1]) and (
            PARA_RE.match(line) or HEAD_KEY_RE.match(stripped)
            or MARK_ONLY_RE.match(line) or SUBJECT_RE.match(stripped)
        ):
            break
        if stripped:
            out.append(stripped)
            stop = end
            if _SECTION_RE.search(stripped) and stripped.endswith((".", ")")):
                break
            if stripped.endswith("..."):
                break  # cut short on the page: what follows is not this sentence
        elif out and not _REASON_PENDING_RE.search(out[-1]) and _SECTION_RE.search(" ".join(out)):
            break  # a blank line after the reasons ends the sentence
        pos = end + 1
    # flattened texts: the first paragraph follows on the same line, "... (d). (C) Poloff"
    inline = REF_STOP_RE.search(text, start + 1, stop)
    if inline and not inline.group(0).lower().startswith("classified"):
        stop = inline.start()
        return " ".join(text[start:stop].split())[:600], stop
    return " ".join(out)[:600], stop


_ABBREVIATIONS: Final = ("Jr.", "Sr.", "Jr", "Sr", "Dr.", "St.", "Amb.", "a.i.", "D.C.")


def classified_by(text: str) -> str | None:
    """Who classified the cable: the Classified By sentence up to the reasons."""
    end = _classified_end(text)
    who = " ".join(text[:end].split()).strip(" ,;:")
    if who[:14].lower() == "classified by ":  # "Classified By: Classified by X"
        who = who[14:].lstrip(" :")
    if who.endswith("...") and end >= len(text.rstrip()) - 1:
        return who  # cut short on the page ("A..."): kept as published
    while who.endswith(".") and not who.endswith(_ABBREVIATIONS):
        who = who[:-1].rstrip(" ,;:")
    return who or None


def _classified_end(text: str) -> int:
    """``_CLASSIFIED_END_RE.search(text).start()`` (it always matches: ``$``).
    The regex opens with ``[\\s,;:]*``, so re tries it at every character;
    instead, try it only before the words its branches open with (``for``,
    ``reason``, ``per``, ``under``, ``e.o``, ``1``, ``(``), at the start of
    the separators in front of them: the first that matches is the match."""
    if not text.isascii():  # (case-insensitive matching beyond ASCII: the regex)
        end = _CLASSIFIED_END_RE.search(text)
        return end.start() if end else len(text)  # (it always matches)
    low = text.lower()
    # the next occurrence of each word (-1: none left), found again only once passed
    nexts = [low.find(word) for word in _CLASSIFIED_END_WORDS]
    while True:
        found = [at for at in nexts if at >= 0]
        anchor = min(found) if found else len(text)
        start = anchor
        while start and (text[start - 1] in ",;:" or text[start - 1].isspace()):
            start -= 1
        if not found or _CLASSIFIED_END_RE.match(text, start):
            return start
        nexts = [low.find(word, anchor + 1) if at == anchor else at
                 for word, at in zip(_CLASSIFIED_END_WORDS, nexts, strict=True)]


# the words (lower-cased) that _CLASSIFIED_END_RE's branches open with
_CLASSIFIED_END_WORDS: Final = ("for", "reason", "per", "under", "eo", "e.o", "1", "(")


def reasons(text: str) -> list[str]:
    """Classification reasons normalised to ``1.4(b)``: sections 1.4/1.5 with
    any separator (``1,4`` ``1/4`` ``1:4``) and the letters that follow them
    in any written form; bare letters (``reasons b, d``) give ``(b)``."""
    found: list[tuple[str, str]] = []
    sections = list(_SECTION_RE.finditer(text))
    for index, match in enumerate(sections):
        stop = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        section = "1." + match.group(1)
        found += [(section, letter) for letter in _reason_letters(text[match.end():stop])]
    if not sections:
        bare = _BARE_REASONS_RE.search(text)
        if bare:
            found += [("", letter) for letter in _reason_letters(text[bare.end():])]
    unique = sorted(set(found))
    return [f"{section}({letter})" for section, letter in unique]


def _reason_letters(text: str) -> list[str]:
    """Letters a-h following a section number, up to the first other word."""
    letters: list[str] = []
    for token in _REASON_TOKEN_RE.findall(text[:120]):
        if token.isspace() or token in "()," or token in ("&", "/", "+", ";"):
            continue
        low = token.lower()
        if low in ("and", "or"):
            continue
        if token in (".", ":"):
            if letters:
                break
            continue
        if len(token) == 1 and "a" <= low <= "h":
            letters.append(low)
            continue
        break
    return letters


def find_caveats(caption: str, banner: Banner | None) -> list[str]:
    """NOFORN, SIPDIS, EXDIS, SENSITIVE ... written in the banner or the caption
    lines before the E.O./TAGS/SUBJECT lines (never the running text). Words
    that are also ordinary words (SENSITIVE, ROGER ...) count only on a line
    made of caveats, or in the banner line."""
    found: list[str] = []
    if banner and banner.extra:
        for match in _CAVEAT_RE.finditer(banner.extra):
            _add_caveat(found, match.group(1))
    caption = caption[:6000]
    for match in _CAVEAT_RE.finditer(caption):
        # "001352SIPDISE.O." (flattened) counts; "NOFORNS" or "xSBU" does not
        if match.start() and caption[match.start() - 1].isalpha() or (
            caption[match.end():match.end() + 1].islower()
        ):
            continue
        value = _normalise_caveat(match.group(1))
        if value in _CAVEATS_OWN_LINE:
            line_start = caption.rfind("\n", 0, match.start()) + 1
            line_end = end_of_line(caption, match.end())
            line = caption[line_start:line_end].strip()
            if _CAVEAT_RE.sub("", line).strip(" ,;:/-.") and not BANNER_RE.match(line):
                continue
        _add_caveat(found, value)
    return found


def _normalise_caveat(text: str) -> str:
    text = " ".join(text.split())
    compact = text.replace(" ", "")
    if compact in ("NOFORN", "SIPDIS", "EXDIS", "NODIS", "LIMDIS", "STADIS", "EFTO"):
        return compact
    if compact == "CORRECTEDCOPY":
        return "CORRECTED COPY"
    if text == "SENSITIVE BUT UNCLASSIFIED":
        return "SBU"
    return text


def _add_caveat(found: list[str], value: str) -> None:
    value = _normalise_caveat(value)
    if value and value not in found and len(found) < 20:
        found.append(value)
