"""The signer's name(s) at the end of the body, past the trailer lines."""

from __future__ import annotations

import re
from typing import Final

_NAME_WORD: Final = r"(?:[A-Z][A-Za-z'\u2019-]+|Mc[A-Z][a-z]+|van|von|de|del|da|der|le|la)"

_SIGNER_RE: Final = re.compile(rf"{_NAME_WORD}(?:\s{_NAME_WORD}){{0,2}}(?:/{_NAME_WORD}){{0,3}}")

_SIGNER_SPLIT_RE: Final = re.compile(r"[\s/]+")

_NOT_SIGNERS: Final = frozenset(
    "END TEXT COMMENT COMMENTS SUMMARY NOTE BT NNNN CABLE UNCLASSIFIED UNCLAS CONFIDENTIAL "
    "SECRET SIPDIS NOFORN SENSITIVE ACTION REQUEST MESSAGE THANKS QUOTE UNQUOTE BEGIN "
    "NONE TEXT. REF REFTEL PARA SUBJECT NNNN NNN".split()
)

# old telegrams sign at the end of the last line, after spaces or "END COMMENT."
_SIGNATURE_TAIL_RE: Final = re.compile(
    r"(?:\S\s{3,}|[.!?\"'\u201d]\s{2}|(?i:\bend (?:of )?(?:comment|text|note|summary))\.?\s+)"
    r"([A-Z][A-Z'-]{1,24})$"
)

_SIGNATURE_AFTER_SENTENCE_RE: Final = re.compile(r"[a-z][.!?\"'\u201d]\s+([A-Z][A-Z'-]{2,24})$")

_TRAILER_RE: Final = re.compile(
    r"(?i)(?:BT|NNNN?.*|#\d+|\*\*\*.*|.*VZCZ.*|[A-Z][A-Z ]{1,30} -?\d{3,7}|[\W_]+|</?\w+>|"
    r"=*\s*CABLE ENDS?\s*=*|END (?:OF )?CABLE(?: TEXT)?|"
    r"\d{4}[A-Z]{3,10}\d{5} - Classification:.*|Declassified/Released .*|Systematic Review .*|"
    r"GP-\d|.*classified web ?site.*|[\w:/~#?=&%-]*\.[\w.:~#?=&%-]*/[\w.:/~#?=&%-]*[\"']?|"
    r"(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)(?:\s+NOFORN)?|"
    r"C O N F I D E N T I A L|S E C R E T|.*classified website.*|.*https?://.*|.*www\..*)\s*$"
)


def find_signers(text: str) -> tuple[list[str], int]:
    """The signer's name(s) on the last line of the body (``BURNS``,
    ``van Voorst``, ``RICE/BOLTON``), past trailer lines (BT, NNNN, a trailing
    classification line, "Visit our classified website" lines), and the offset
    where the text proper ends (before the signer and the trailer)."""
    end = len(text)
    for _ in range(12):
        if end <= 0:
            break
        line_start = text.rfind("\n", 0, end) + 1
        raw_line = text[max(line_start, end - 300):end].strip()
        if end - line_start > 200:
            # a long last line: only a signature at its very end counts
            tail = _signature_tail(raw_line[-100:])
            if tail:
                return [tail], line_start + text[line_start:end].rfind(tail)
            break
        line = raw_line.split(" NNNN", 1)[0].rstrip("\\").strip().strip('."').strip()
        if not line or _is_trailer(raw_line):
            end = max(line_start - 1, 0)
            continue
        if len(line) <= 40 and _SIGNER_RE.fullmatch(line) and not any(
            word.upper() in _NOT_SIGNERS for word in _SIGNER_SPLIT_RE.split(line)
        ):
            names = [" ".join(n.split()) for n in line.split("/") if n.strip()]
            return names, _trailer_start(text, max(line_start - 1, 0))
        # old telegrams sign at the end of the last line: "... AFFAIRS.    PORTER"
        tail = _signature_tail(raw_line)
        if tail:
            return [tail], line_start + text[line_start:end].rfind(tail)
        break
    # no signer: the trailer lines still do not belong to the last paragraph
    return [], end


def _signature_tail(line: str) -> str | None:
    """A signer written at the end of the last line: after three spaces, after
    ``END COMMENT.``, or after a sentence end in mixed-case prose (where an
    upper-case last word is a name, not the end of a sentence)."""
    if not line or line[-1] not in _SIGNATURE_LAST:
        return None  # both patterns end with the name's last letter
    start = _signature_search_start(line)
    tail = _SIGNATURE_TAIL_RE.search(line, start)
    if tail and tail.group(1) not in _NOT_SIGNERS:
        return tail.group(1)
    tail = _SIGNATURE_AFTER_SENTENCE_RE.search(line, start)
    if tail and tail.group(1) not in _NOT_SIGNERS and any(
        c.islower() for c in line[max(0, tail.start() - 100):tail.start()]
    ):
        return tail.group(1)
    return None


# the characters of a signature's name (upper-case letters, ' and -)
_NAME_CHARACTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'-"
_SIGNATURE_LAST: Final = frozenset(_NAME_CHARACTERS)


def _signature_search_start(line: str) -> int:
    """Where the two signature patterns are searched from in a (stripped)
    line: neither opens with a literal, so re would try them at every
    character. In both, the name is the run of ``[A-Z'-]`` that ends the line
    and follows whitespace; what precedes that whitespace is at most 15
    characters (``end of summary.``): no match starts earlier."""
    name_start = len(line.rstrip(_NAME_CHARACTERS))
    space_start = len(line[:name_start].rstrip())
    return max(0, space_start - 20)


def _is_trailer(line: str) -> bool:
    """``_TRAILER_RE.fullmatch(line)``: a trailer line (BT, NNNN, GP-3, a URL,
    "Visit ... classified website" ...). The regex costs ~15 µs on a line of
    prose, mostly in its ``.*X.*`` branches; an ASCII line of prose that opens
    with none of the branches' first letters, holds a space (no URL), is not
    "WORDS 1234" and contains none of the ``.*X.*`` words is answered here."""
    first = line[:1]
    if line.isascii() and "\n" not in line and (
        first.isalpha() and first.lower() not in _TRAILER_INITIALS
        or first.isdigit() and not line[:4].isdigit()  # "12. (U) ..." is not "2009VATICAN..."
        or first == "(" and line[1:2].isalnum()  # not a line of punctuation
    ):
        stripped = line.rstrip()
        if (" " in stripped or "/" not in stripped or "." not in stripped) and (
            len(stripped) > 40 or not stripped[-1].isdigit()
        ):
            low = line.lower()
            return any(word in low for word in _TRAILER_WORDS)
    return bool(_TRAILER_RE.fullmatch(line))


# first letters of the branches of _TRAILER_RE that open with a letter
# (BT NNNN CABLE END Declassified Systematic GP- UNCLASSIFIED LIMITED SECRET ...)
_TRAILER_INITIALS: Final = frozenset("bncedsgul")

# the words of its ".*X.*" branches (case-insensitive: compared lower-cased)
_TRAILER_WORDS: Final = ("vzcz", "classified website", "classified web site", "http://", "https://",
                  "www.")


def _trailer_start(text: str, end: int) -> int:
    """Back over blank and trailer lines (``GP-3``, ``BT``) above the signer."""
    for _ in range(6):
        line_start = text.rfind("\n", 0, end) + 1
        line = text[line_start:end].strip()
        if line and (len(line) > 200 or not _is_trailer(line)):
            break
        if line_start == 0:
            return 0
        end = line_start - 1
    return end
