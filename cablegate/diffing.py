"""Word-level diffs between two texts of a cable (difflib over words and spaces)."""

from __future__ import annotations

import difflib
import re

EQUAL, INSERT, DELETE = "equal", "insert", "delete"

_TOKENS = re.compile(r"\s+|[^\s]+")


def tokens(text: str) -> list[str]:
    """Words and the whitespace runs between them; joining them gives ``text`` back."""
    return _TOKENS.findall(text or "")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in equal/insert/delete; equal+delete spell ``old``,
    equal+insert spell ``new``. Adjacent pieces with the same op are merged."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    pieces: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == EQUAL:
            _append(pieces, EQUAL, "".join(a[i1:i2]))
        else:
            if i2 > i1:
                _append(pieces, DELETE, "".join(a[i1:i2]))
            if j2 > j1:
                _append(pieces, INSERT, "".join(b[j1:j2]))
    return pieces


def _append(pieces: list[tuple[str, str]], op: str, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1][0] == op:
        pieces[-1] = (op, pieces[-1][1] + text)
    else:
        pieces.append((op, text))


def cable_text(record: dict) -> str:
    """The text a diff compares: the header box, a blank line, the body box."""
    header, body = record.get("header") or "", record.get("body") or ""
    return f"{header}\n\n{body}" if header else body


def render_plain(pieces: list[tuple[str, str]]) -> str:
    """A terminal rendering: deletions as [-...-], insertions as {+...+} (like git --word-diff)."""
    out = []
    for op, text in pieces:
        if op == EQUAL:
            out.append(text)
        elif op == DELETE:
            out.append(f"[-{text}-]")
        else:
            out.append(f"{{+{text}+}}")
    return "".join(out)


def changed(pieces: list[tuple[str, str]]) -> bool:
    return any(op != EQUAL for op, _ in pieces)
