"""The query language parser: structure, precedence, fields, dates and error messages."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cablegate.query import (
    And,
    DateRange,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Term,
    cable_id,
    describe,
    parse,
)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("iran", "iran"),
        ("iran nuclear", "(iran AND nuclear)"),
        ("iran AND nuclear", "(iran AND nuclear)"),
        # AND (explicit or implicit) binds tighter than OR.
        ("a b OR c", "((a AND b) OR c)"),
        ("a OR b c", "(a OR (b AND c))"),
        ("a OR b OR c", "(a OR b OR c)"),
        ("(a OR b) c", "((a OR b) AND c)"),
        ("NOT a", "NOT a"),
        ("-a b", "(NOT a AND b)"),
        ("a -(b OR c)", "(a AND NOT (b OR c))"),
        ('-"foreign minister"', 'NOT "foreign minister"'),
        ("NOT NOT a", "NOT NOT a"),
        ("+a b", "(a AND b)"),
        ('"foreign minister" iran', '("foreign minister" AND iran)'),
        ('"foreign minis*"', '"foreign minis"*'),
        ("minist*", "minist*"),
        # lower-case operators are words; hyphenated words stay words
        ("war and peace", "(war AND and AND peace)"),
        ("al-Qaeda", "al-Qaeda"),
        ("a - b", "(a AND - AND b)"),
        ("", "*ALL*"),
        ("   ", "*ALL*"),
    ],
)
def test_structure_and_precedence(query: str, tree: str) -> None:
    assert describe(parse(query)) == tree


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("subject:iran", "subject:iran"),
        ("SUBJECT:iran", "subject:iran"),
        ('subject:"oil price"', 'subject:"oil price"'),
        ("subject:(iran OR iraq) oil", "((subject:iran OR subject:iraq) AND oil)"),
        ("origin:moscow", "origin:moscow"),
        ("origin: moscow", "origin:moscow"),
        ('origin:"Embassy Moscow"', 'origin:"Embassy Moscow"'),
        ("tag:PREL", "tag:PREL"),
        ("tags:PREL", "tag:PREL"),
        ("tag:K*", "tag:K*"),
        ("tag:(PREL OR PGOV)", "(tag:PREL OR tag:PGOV)"),
        ("classification:SECRET//NOFORN", "classification:SECRET//NOFORN"),
        ("-tag:PREL iran", "(NOT tag:PREL AND iran)"),
    ],
)
def test_fields(query: str, tree: str) -> None:
    assert describe(parse(query)) == tree


def test_field_group_applies_to_nested_words_only() -> None:
    tree = parse('subject:(iran "oil price") body')
    assert isinstance(tree, And)
    inner, outer = tree.items
    assert isinstance(inner, And)
    assert [item.field for item in inner.items] == ["subject", "subject"]
    assert isinstance(outer, Term) and outer.field is None


@pytest.mark.parametrize(
    ("query", "field", "start", "end"),
    [
        ("from:2008-05-31", "created", date(2008, 5, 31), None),
        ("from:2008-05", "created", date(2008, 5, 1), None),
        ("from:2008", "created", date(2008, 1, 1), None),
        ("to:2008-05-31", "created", None, date(2008, 6, 1)),
        ("to:2008-02", "created", None, date(2008, 3, 1)),  # 2008 is a leap year: to the 29th
        ("to:2008", "created", None, date(2009, 1, 1)),
        ("created:2007-05", "created", date(2007, 5, 1), date(2007, 6, 1)),
        ("released:2010-12-06", "released", date(2010, 12, 6), date(2010, 12, 7)),
        ("released:2010-12-01..2010-12-31", "released", date(2010, 12, 1), date(2011, 1, 1)),
        ("released:2011..", "released", date(2011, 1, 1), None),
        ("released:..2010-12", "released", None, date(2011, 1, 1)),
        ('from:"2008-01-01"', "created", date(2008, 1, 1), None),
    ],
)
def test_dates(query: str, field: str, start: date | None, end: date | None) -> None:
    node = parse(query)
    assert isinstance(node, DateRange)
    assert (node.field, node.start, node.end) == (field, start, end)


def test_nodes_keep_their_positions() -> None:
    tree = parse('iran "oil price" origin:moscow')
    assert isinstance(tree, And)
    assert [item.position for item in tree.items] == [0, 5, 24]
    assert isinstance(tree.items[1], Phrase)


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("iran (nuclear OR atomic", 'unbalanced parenthesis at column 6 ("(" is never closed)', 6),
        ("iran nuclear)", 'unbalanced parenthesis at column 13 (")" has no matching "(")', 13),
        ("(iran", 'unbalanced parenthesis at column 1 ("(" is never closed)', 1),
        ("((a) b", 'unbalanced parenthesis at column 1 ("(" is never closed)', 1),
        ("foo:bar", 'unknown field "foo:" at column 1', 1),
        ("iran http://x.org", 'unknown field "http:" at column 6', 6),
        ('iran "nuclear', "unterminated quote starting at column 6", 6),
        ('"a" "b', "unterminated quote starting at column 5", 5),
        ("OR iran", 'missing term before "OR" at column 1', 1),
        ("iran OR", 'missing term after "OR" at column 6', 6),
        ("iran AND", 'missing term after "AND" at column 6', 6),
        ("iran AND OR x", 'missing term after "AND" at column 6', 6),
        ("iran NOT", 'missing term after "NOT" at column 6', 6),
        ("iran -", None, None),  # a lone dash is punctuation, not an operator
        ("a ()", "empty parentheses at column 3", 3),
        ("origin:", 'missing value after "origin:" at column 1', 1),
        ("x origin: OR y", 'missing value after "origin:" at column 3', 3),
        ("from:2008-13-01", 'invalid date "2008-13-01" at column 6', 6),
        ("to:2008-02-30", 'invalid date "2008-02-30" at column 4', 4),
        ("from:yesterday", 'invalid date "yesterday" at column 6', 6),
        ("from:(2008)", '"from:" takes a date at column 6', 6),
        ("released:2011..2010", 'empty date range "2011..2010" at column 10', 10),
        ("released:..", 'invalid date range ".." at column 10', 10),
        ("a*", 'prefix "a*" is too short at column 1', 1),
        ("*", 'a lone "*" at column 1', 1),
        ("mi*nister", 'wildcard "*" inside a word at column 3', 3),
    ],
)
def test_errors_say_what_and_where(query: str, message: str | None, column: int | None) -> None:
    if message is None:
        parse(query)
        return
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    err = caught.value
    assert str(err).startswith(message)
    assert err.column == column and err.position == column - 1
    assert isinstance(err, ValueError)


def test_unknown_field_lists_the_known_ones() -> None:
    with pytest.raises(QuerySyntaxError, match="known fields: classification, created, from"):
        parse("colour:red")


def test_keyword_prefixes_may_be_one_letter() -> None:
    node = parse("tag:K*")
    assert isinstance(node, Term) and node.prefix and node.text == "K"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("07MOSCOW2205", "07MOSCOW2205"),
        ("  07moscow2205 ", "07moscow2205"),
        ("1973STATE097844_b", "1973STATE097844_b"),
        ("07MOSCOW2205 iran", None),
        ("MOSCOW2205", None),
        ("2205", None),
    ],
)
def test_cable_id_queries(query: str, expected: str | None) -> None:
    assert cable_id(query) == expected


# --------------------------------------------------------------------------- fuzzing

# Characters that matter to the grammar, mixed with ordinary letters and spaces.
_GRAMMAR_ALPHABET = st.sampled_from(
    list('()"*-+: abcXx09é')
    + ["AND ", "OR ", "NOT ", "from:", "origin:", "tag:", "released:", "2008-01", "..", "subject:("]
)


def _parses_or_says_why(query: str) -> None:
    try:
        tree = parse(query)
    except QuerySyntaxError as err:
        assert 0 <= err.position <= len(query)
        assert f"at column {err.position + 1}" in str(err)
        return
    assert tree is None or isinstance(tree, Term | Phrase | DateRange | And | Or | Not)
    describe(tree)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_a_syntax_error(query: str) -> None:
    _parses_or_says_why(query)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_GRAMMAR_ALPHABET, max_size=25).map("".join))
def test_grammar_heavy_text_parses_or_raises_a_syntax_error(query: str) -> None:
    _parses_or_says_why(query)
