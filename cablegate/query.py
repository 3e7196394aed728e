"""The search query language: a hand-written lexer and recursive-descent parser.

``parse(text)`` turns a query into a small syntax tree (``Term``, ``Phrase``,
``DateRange``, ``And``, ``Or``, ``Not``) or raises ``QuerySyntaxError`` saying
what is wrong and where. It never raises anything else, for any input string.
``cablegate.search`` compiles the tree into tantivy queries; user text is never
handed to tantivy's own query parser. The language is documented with examples
in docs/search.md; in short:

    iran nuclear                 both words (AND is the default)
    "foreign minister"           an exact phrase ("foreign minis*": phrase prefix)
    iran OR iraq                 either (AND binds tighter than OR)
    NOT iran, -iran              without
    (iran OR iraq) -nuclear      grouping
    minist*                      prefix (at least 2 letters)
    subject:iran  subject:(iran OR iraq)  subject:"oil price"
    origin:moscow  origin:"Embassy Moscow"   (origin code or full origin name)
    tag:PREL  tag:K*  classification:secret  classification:secret*
    from:2008-01-01  to:2008-12-31  from:2008  to:2008-06    (on the created date)
    created:2008-05  released:2010-12-01..2010-12-31  released:2011..
    07MOSCOW2205                 that cable first, then the cables that cite it

Operators ``AND``, ``OR`` and ``NOT`` are upper case; lower-case "and", "or" and
"not" are ordinary words.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# Field name (as typed, lower-cased) -> (canonical name, kind).
#   text:    the value is searched as words within that field
#   keyword: the value is the field's whole value (case and accents ignored)
#   date:    the value is a date or period (YYYY, YYYY-MM, YYYY-MM-DD)
FIELDS: dict[str, tuple[str, str]] = {
    "subject": ("subject", "text"),
    "origin": ("origin", "keyword"),
    "tag": ("tag", "keyword"),
    "tags": ("tag", "keyword"),
    "classification": ("classification", "keyword"),
    "from": ("from", "date"),
    "to": ("to", "date"),
    "created": ("created", "date"),
    "released": ("released", "date"),
}
FIELD_NAMES = sorted({canonical for canonical, _ in FIELDS.values()})

# Prefixes shorter than this would expand to a large part of the vocabulary.
MIN_TEXT_PREFIX = 2

_FIELD_RE = re.compile(r"([A-Za-z_]+):")
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
# A reference ID as people type it: 07MOSCOW2205, 07moscow2205, 1973STATE097844_b.
_CABLE_ID_RE = re.compile(r"(?:\d{2}|\d{4})[A-Za-z][A-Za-z-]*\d+(?:_[A-Za-z])?")
_OPERATORS = {"AND", "OR", "NOT"}


class QuerySyntaxError(ValueError):
    """A query that is not valid: ``str(err)`` says what is wrong and where.

    ``position`` is the 0-based index of the offending character in the query,
    ``column`` the same 1-based (as printed in the message), ``reason`` the
    message without the location.
    """

    def __init__(self, reason: str, position: int, hint: str | None = None) -> None:
        self.reason = reason
        self.position = position
        self.column = position + 1
        self.hint = hint
        message = f"{reason} at column {self.column}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self)


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Term:
    """A word (``prefix``: it ended with ``*``). ``field`` None = the default text fields."""

    text: str
    field: str | None
    prefix: bool
    position: int


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase (``prefix``: its last word ended with ``*``)."""

    text: str
    field: str | None
    prefix: bool
    position: int


@dataclass(frozen=True)
class DateRange:
    """``field`` ("created" or "released") within [start, end): either may be None (open)."""

    field: str
    start: date | None
    end: date | None
    position: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | Phrase | DateRange | And | Or | Not


# --------------------------------------------------------------------------- lexer


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE LPAREN RPAREN FIELD AND OR NOT MINUS
    text: str
    position: int
    prefix: bool = False


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char == "(":
            tokens.append(_Token("LPAREN", char, i))
            i += 1
        elif char == ")":
            tokens.append(_Token("RPAREN", char, i))
            i += 1
        elif char == '"':
            i = _lex_phrase(query, i, tokens)
        else:
            i = _lex_run(query, i, tokens)
    return tokens


def _lex_phrase(query: str, start: int, tokens: list[_Token]) -> int:
    end = query.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError("unterminated quote starting", start)
    inner = query[start + 1 : end]
    prefix = inner.rstrip().endswith("*")
    if prefix:
        inner = inner.rstrip().rstrip("*")
    tokens.append(_Token("PHRASE", inner, start, prefix))
    return end + 1


def _run_end(query: str, start: int) -> int:
    i = start
    while i < len(query) and not query[i].isspace() and query[i] not in '()"':
        i += 1
    return i


def _lex_run(query: str, start: int, tokens: list[_Token]) -> int:
    """A run of non-space characters: an operator, a field name, a -/+ sign or a word."""
    end = _run_end(query, start)
    run = query[start:end]
    after = query[end] if end < len(query) else ""
    if run in _OPERATORS:
        tokens.append(_Token(run, run, start))
        return end
    if run[0] in "-+" and (len(run) > 1 or after in ("(", '"')):
        if run[0] == "-":
            tokens.append(_Token("MINUS", "-", start))
        return start + 1  # the rest is lexed again (it may be a field, a group...)
    field = _FIELD_RE.match(run)
    if field:
        tokens.append(_Token("FIELD", field.group(1), start))
        return start + field.end()
    tokens.append(_word_token(run, start))
    return end


def _word_token(run: str, start: int) -> _Token:
    stem = run.rstrip("*")
    prefix = len(stem) < len(run)
    if not stem:
        raise QuerySyntaxError(
            'a lone "*"', start, "put at least 2 letters before it, e.g. minist*"
        )
    star = stem.find("*")
    if star >= 0:
        raise QuerySyntaxError(
            'wildcard "*" inside a word',
            start + star,
            "only a trailing * is supported, e.g. minist*",
        )
    return _Token("WORD", stem, start, prefix)


# --------------------------------------------------------------------------- parser


def parse(query: str) -> Node | None:
    """The syntax tree of ``query``; None for an empty query (which matches everything).

    Raises ``QuerySyntaxError`` (a ``ValueError``) for invalid syntax.
    """
    parser = _Parser(_tokenize(query))
    if not parser.tokens:
        return None
    node = parser.parse_or()
    if parser.peek() is not None:
        token = parser.peek()
        assert token is not None
        if token.kind == "RPAREN":
            raise QuerySyntaxError(
                "unbalanced parenthesis", token.position, '")" has no matching "("'
            )
        raise QuerySyntaxError(f"unexpected {token.text!r}", token.position)  # pragma: no cover
    return node


_TERM_START = {"WORD", "PHRASE", "LPAREN", "FIELD", "NOT", "MINUS"}


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.default_field: str | None = None

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _need_term_after(self, operator: _Token) -> None:
        following = self.peek()
        if following is None or following.kind not in _TERM_START:
            raise QuerySyntaxError(f'missing term after "{operator.text}"', operator.position)

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self._need_term_after(token)
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while (token := self.peek()) is not None:
            if token.kind == "AND":
                self.take()
                self._need_term_after(token)
            elif token.kind not in _TERM_START:
                break
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind in ("NOT", "MINUS"):
            self.take()
            self._need_term_after(token)
            return Not(self.parse_unary())
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.peek()
        if token is None:  # pragma: no cover - callers check first
            raise QuerySyntaxError("missing term", 0)
        if token.kind in ("AND", "OR"):
            raise QuerySyntaxError(f'missing term before "{token.text}"', token.position)
        if token.kind == "RPAREN":
            raise QuerySyntaxError(
                "unbalanced parenthesis", token.position, '")" has no matching "("'
            )
        self.take()
        if token.kind == "LPAREN":
            return self.parse_group(token)
        if token.kind == "FIELD":
            return self.parse_field(token)
        if token.kind == "PHRASE":
            return Phrase(token.text, self.default_field, token.prefix, token.position)
        return self.parse_word(token, self.default_field)

    def parse_group(self, opening: _Token) -> Node:
        following = self.peek()
        if following is not None and following.kind == "RPAREN":
            raise QuerySyntaxError("empty parentheses", opening.position)
        if following is None:
            raise QuerySyntaxError(
                "unbalanced parenthesis", opening.position, '"(" is never closed'
            )
        node = self.parse_or()
        closing = self.peek()
        if closing is None or closing.kind != "RPAREN":
            raise QuerySyntaxError(
                "unbalanced parenthesis", opening.position, '"(" is never closed'
            )
        self.take()
        return node

    def parse_word(self, token: _Token, field: str | None) -> Node:
        kind = FIELDS[field][1] if field else "text"
        if token.prefix:
            minimum = 1 if kind == "keyword" else MIN_TEXT_PREFIX
            last = re.findall(r"[^\W_]+", token.text)
            if not last or len(last[-1]) < minimum:
                raise QuerySyntaxError(
                    f'prefix "{token.text}*" is too short',
                    token.position,
                    f"use at least {minimum} letter{'s' if minimum > 1 else ''} before *",
                )
        return Term(token.text, field, token.prefix, token.position)

    def parse_field(self, token: _Token) -> Node:
        name = token.text.lower()
        if name not in FIELDS:
            raise QuerySyntaxError(
                f'unknown field "{token.text}:"',
                token.position,
                f"known fields: {', '.join(FIELD_NAMES)}; put text with a colon in quotes",
            )
        field, kind = FIELDS[name]
        value = self.peek()
        if value is None or value.kind not in ("WORD", "PHRASE", "LPAREN"):
            raise QuerySyntaxError(f'missing value after "{token.text}:"', token.position)
        if kind == "date":
            return self.parse_date_value(field, token)
        self.take()
        if value.kind == "PHRASE":
            return Phrase(value.text, field, value.prefix, value.position)
        if value.kind == "WORD":
            return self.parse_word(value, field)
        outer, self.default_field = self.default_field, field
        try:
            return self.parse_group(value)
        finally:
            self.default_field = outer

    def parse_date_value(self, field: str, token: _Token) -> Node:
        value = self.take()
        if value.kind == "LPAREN" or value.prefix:
            raise QuerySyntaxError(
                f'"{token.text}:" takes a date',
                value.position,
                "YYYY, YYYY-MM or YYYY-MM-DD" + (", or a range A..B" if field in _RANGED else ""),
            )
        return date_filter(field, value.text.strip(), value.position)


# --------------------------------------------------------------------------- dates

_RANGED = {"created", "released"}


def _period(text: str, position: int) -> tuple[date, date]:
    """[first day, day after the last day] of YYYY, YYYY-MM or YYYY-MM-DD."""
    match = _DATE_RE.fullmatch(text)
    hint = "use YYYY, YYYY-MM or YYYY-MM-DD"
    if match is None:
        raise QuerySyntaxError(f'invalid date "{text}"', position, hint)
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            start, end = date(year, 1, 1), _add_years(year)
        elif day is None:
            start = date(year, month, 1)
            end = _next_day(date(year, month, calendar.monthrange(year, month)[1]))
        else:
            start = date(year, month, day)
            end = _next_day(start)
    except (ValueError, OverflowError):
        raise QuerySyntaxError(f'invalid date "{text}"', position, hint) from None
    return start, end


def _add_years(year: int) -> date | None:
    return date(year + 1, 1, 1) if year < 9999 else None


def _next_day(day: date) -> date | None:
    return None if day == date.max else date.fromordinal(day.toordinal() + 1)


def date_filter(field: str, text: str, position: int) -> DateRange:
    """The DateRange of ``from:``/``to:``/``created:``/``released:`` with value ``text``."""
    if field == "from":
        return DateRange("created", _period(text, position)[0], None, position)
    if field == "to":
        return DateRange("created", None, _period(text, position)[1], position)
    if ".." not in text:
        start, end = _period(text, position)
        return DateRange(field, start, end, position)
    low, high = text.split("..", 1)
    if not low and not high:
        raise QuerySyntaxError(
            f'invalid date range "{text}"', position, "e.g. 2010-12-01..2010-12-31"
        )
    start = _period(low, position)[0] if low else None
    end = _period(high, position + len(low) + 2)[1] if high else None
    if start is not None and end is not None and start >= end:
        raise QuerySyntaxError(f'empty date range "{text}"', position, "the start is after the end")
    return DateRange(field, start, end, position)


# --------------------------------------------------------------------------- helpers


def cable_id(query: str) -> str | None:
    """The reference ID when the whole query is one (any case), else None."""
    text = query.strip()
    return text if _CABLE_ID_RE.fullmatch(text) else None


def looks_like_cable_id(word: str) -> bool:
    return _CABLE_ID_RE.fullmatch(word) is not None


def describe(node: Node | None) -> str:
    """A compact, fully parenthesised rendering of a tree (for tests and debugging)."""
    if node is None:
        return "*ALL*"
    if isinstance(node, Term | Phrase):
        field = f"{node.field}:" if node.field else ""
        text = f'"{node.text}"' if isinstance(node, Phrase) else node.text
        return f"{field}{text}{'*' if node.prefix else ''}"
    if isinstance(node, DateRange):
        return f"{node.field}:[{node.start or ''}..{node.end or ''})"
    if isinstance(node, Not):
        return f"NOT {describe(node.item)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(describe(item) for item in node.items) + ")"
