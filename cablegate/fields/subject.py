"""The SUBJECT and TAGS lines of the body head."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from .common import (
    CLASSIFIED_RE,
    HEAD_KEY_RE,
    INLINE_MARK,
    PARA_RE,
    SUBJECT_RE,
    end_of_line,
    keyword_matches,
    text_of,
)

# (the keywords are found with str.find first: common.keyword_matches)
_TAGS_RE: Final = re.compile(r"(?:TAGS?|Tags)\b[ \t]*:?[ \t]*")

_TAG_SPLIT_RE: Final = re.compile(r"[\s,;]+")

_TAG_LINE_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9-]{1,7}(?:[ ,]+[A-Z0-9][A-Z0-9-]{1,7}){0,2},?")

_TAG_TOKEN_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9-]*")

_SUBJECT_PART_RE: Final = re.compile(r"[ \t]*\(PART \d+ OF \d+\)[ \t]*$")

_SUBJECT_STOP_RE: Final = re.compile(
    r"[cC](?i:lassified\s+by)|\sREF(?:S|TEL)?\s*:"
    rf"|\d(?<!\S\d)\d{{0,2}}\.[ \t]{{1,4}}{INLINE_MARK}"
)


def _tags_keyword(text: str, start: int = 0) -> re.Match[str] | None:
    """The first TAGS keyword not glued to a preceding letter."""
    for match in keyword_matches(_TAGS_RE, ("TAG", "Tags"), text, start):
        if match.start() == 0 or not text[match.start() - 1].isalpha():
            return match
    return None


def tags_line(head: str) -> tuple[str, int, int]:
    """The text of the TAGS line, continued on the next lines when it ends
    with a comma, or when it is empty and the tags follow one per line (the
    PDF texts: ``TAGS:`` then ``PGOV``, blank, ``PREL``, blank ...)."""
    match = _tags_keyword(head)
    while match and not match.group(0).startswith(("TAGS", "Tags")) and head[
        head.rfind("\n", 0, match.start()) + 1:match.start()
    ].strip():
        # "TAG" (singular) only where it opens a line: not "CORRECTED COPY - TAG"
        match = _tags_keyword(head, match.end())
    if not match:
        return "", 0, 0
    end = end_of_line(head, match.end())
    text = head[match.end():end]
    subject = _subject_keyword(text)
    if subject:  # flattened: "TAGS: PREL PGOV SUBJECT: ..."
        return text[: subject.start()], match.start(), match.end() + subject.start()
    one_per_line = not text.strip()
    lines_taken = 0
    while (one_per_line or text.rstrip().endswith(",")) and lines_taken < 40:
        if end >= len(head):
            break
        nxt = end_of_line(head, end + 1)
        line = head[end + 1:nxt].strip()
        if SUBJECT_RE.match(line) or HEAD_KEY_RE.match(line):
            break
        if one_per_line and line and not _TAG_LINE_RE.fullmatch(line):
            break
        text += " " + line
        end = nxt
        lines_taken += 1
        if not one_per_line:
            break
    return text, match.start(), end


def split_tags(text: str) -> list[str]:
    """TAGS split on spaces and commas, as the Cablegate site links them."""
    tags: list[str] = []
    for token in _TAG_SPLIT_RE.split(text.strip()):
        token = token.strip(".:()")
        if token and _is_tag_token(token) and token not in tags:
            tags.append(token)
        if len(tags) >= 60:
            break
    return tags


@lru_cache(maxsize=4096)
def _is_tag_token(token: str) -> bool:
    """A TAGS value (``PGOV``, ``KPAO``, ``US``): a small vocabulary, cached."""
    return bool(_TAG_TOKEN_RE.fullmatch(token))


def tag_list(value: object) -> list[str]:
    if isinstance(value, str):
        return split_tags(value)
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            text = text_of(item)
            if text and text not in out:
                out.append(text)
        return out
    return []


def find_subject(head: str) -> tuple[str | None, int, int]:
    """SUBJECT text, continuation lines joined with single spaces; it ends at a
    blank line or the next head element (REF, Classified By, a paragraph),
    also when that element follows on the same line (flattened pages)."""
    match = _subject_keyword(head)
    if not match:
        return None, 0, 0
    end = end_of_line(head, match.end())
    lines = 0
    while end < len(head) and lines < 8:
        nxt = end_of_line(head, end + 1)
        line = head[end + 1:nxt]
        stripped = line.strip()
        if not stripped and not head[match.end():end].strip() and lines < 2:
            end, lines = nxt, lines + 1  # "SUBJECT:" alone, the title after a blank line
            continue
        if not stripped and _SUBJECT_PART_RE.match(head, nxt + 1, end_of_line(head, nxt + 1)):
            end = end_of_line(head, nxt + 1)  # "(PART 2 OF 2)" after a blank line
            break
        if (not stripped or HEAD_KEY_RE.match(stripped) or PARA_RE.match(line)
                or stripped.startswith(("(", "-", "=", "_")) or CLASSIFIED_RE.match(stripped)):
            break
        end = nxt
        lines += 1
    stop = _SUBJECT_STOP_RE.search(head, match.end(), end)
    if stop:
        end = stop.start()
    text = " ".join(head[match.end():end].split()).strip(" :")
    return (text or None), match.start(), end


def _subject_keyword(text: str, start: int = 0) -> re.Match[str] | None:
    """``SUBJECT:`` opening a line, or after a space with its colon (flattened
    heads); not ``COPY//SUBJECT LINE`` of a correction notice."""
    for match in keyword_matches(SUBJECT_RE, ("SUBJ", "Subject"), text, start):
        before = text[text.rfind("\n", 0, match.start()) + 1:match.start()]
        if not before.strip() or before[-1] in " \t" and ":" in match.group(0):
            return match
    return None
