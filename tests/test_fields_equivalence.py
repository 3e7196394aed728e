"""The str-method versions of field-parser regexes (written for speed) give
exactly what the regexes they stand for give, on arbitrary text."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cablegate.fields import common, header, pages, paragraphs, refs, signers, summary
from cablegate.formats import cables_csv

# short texts built from the characters the parsers treat specially
_PIECES = st.sampled_from([
    "-", "=", "_", " ", "  ", "\t", "\n", "\x0b", "\r", "\u00a0", "(", ")", ".", ",", ";",
    "A", "B", "Z", "a", "x", "1", "4", "Title", "---", "BURNS", "O'NEIL", "END COMMENT.",
    "end of summary.", "Summary:", "REF", "\u201d", "\u017f",
])
_TEXTS = st.lists(_PIECES, max_size=14).map("".join)

# the lookbehind-first form the REF letter regex replaces
_REF_LETTER_REFERENCE = re.compile(
    r"(?:(?<=\s)|(?<=^)|(?<=[;,]))\(?([A-Z])(?:\s?\.(?=\s)|\s?\)(?=\s|[A-Z0-9]))"
)


@settings(max_examples=800, deadline=None)
@given(_TEXTS)
@example("(\n ---")  # a title across a line break: the regex refuses it (found in CI)
def test_title_before_dashes_is_the_title_regex(text: str) -> None:
    line = text.strip()
    match = paragraphs._TITLE_UNDERLINE_RE.fullmatch(line)
    assert paragraphs._title_before_dashes(line) == (match.group("title") if match else None)


@settings(max_examples=800, deadline=None)
@given(_TEXTS)
def test_is_underline_is_the_underline_regex(text: str) -> None:
    assert paragraphs._is_underline(text) == bool(paragraphs._UNDERLINE_RE.fullmatch(text))


@settings(max_examples=800, deadline=None)
@given(st.one_of(_TEXTS, st.text(max_size=40)))
def test_collapse_whitespace_is_split_and_join(text: str) -> None:
    assert common.collapse_whitespace(text) == " ".join(text.split())


@settings(max_examples=800, deadline=None)
@given(_TEXTS, st.integers(0, 20))
def test_ref_letters_match_the_lookbehind_form(text: str, start: int) -> None:
    start = min(start, len(text))

    def found(regex: re.Pattern[str]) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), m.group(1)) for m in regex.finditer(text, start)]

    assert found(refs._REF_LETTER_RE) == found(_REF_LETTER_REFERENCE)


@settings(max_examples=800, deadline=None)
@given(_TEXTS)
def test_signature_search_start_loses_no_match(text: str) -> None:
    line = text.strip()
    start = signers._signature_search_start(line)
    for regex in (signers._SIGNATURE_TAIL_RE, signers._SIGNATURE_AFTER_SENTENCE_RE):
        whole, bounded = regex.search(line), regex.search(line, start)
        assert (whole and whole.span(1)) == (bounded and bounded.span(1))


@settings(max_examples=500, deadline=None)
@given(_TEXTS)
def test_summary_start_bounded_match_is_the_sliced_match(text: str) -> None:
    text = text * 20  # past the 200 characters the label is looked for in
    sliced = summary._SUMMARY_START_RE.match(text[:200])
    bounded = summary._SUMMARY_START_RE.match(text, 0, 200)
    assert (sliced and sliced.span()) == (bounded and bounded.span())


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from([" ", "  ", "\n", " \n", "a", "\t", "\u00a0"]), max_size=16)
       .map("".join))
@example("a  \nb")
@example("a \n \n")
def test_ends_with_space_is_the_double_space_search(text: str) -> None:
    assert pages._ends_with_space(text.split(" \n")) == ("  \n" in text)


# the pieces of transmission header lines
_HEADER_PIECES = st.sampled_from([
    "O", "P", "R", "Z", "W", "Y", "OO", "ZN", "ZNY", "ZNR", " ", "\u00a0", "\t", "140319Z",
    "1", "\u0661", "Z", "MAY", "07", "RUEHMO", "#2205", "CCCCC", "INFO", "TO", "-", "LOG-00",
    "A", "e",
])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_HEADER_PIECES, min_size=1, max_size=8).map("".join))
@example("P 140319Z MAY 07")
@example("OO RUEHWEB")
@example("ZNY CCCCC ZZH")
@example("INFO LOG-00 NP-00")
def test_header_line_checks_lose_no_match(line: str) -> None:
    """scan_header tries a header regex only where its cheap check passes:
    every line the regex matches passes that check."""
    first = line[0]
    if header._DTG_RE.match(line):
        assert first.isdecimal() or line[1:2].isspace()
    if header._TRANSMISSION_RE.match(line):
        assert line[1:2] == first
    if header._SECURITY_RE.match(line):
        assert line.startswith("ZN")
    if line.startswith(("TO ", "INFO ")) and header._DISTRIBUTION_RE.match(line):
        assert first == "I" and "-" in line


@settings(max_examples=1500, deadline=None)
@given(_TEXTS)
@example("- Summary: x")
@example("\u0131V. summary")  # dotless i: IGNORECASE pairs it with I
@example("\u017fummary")  # long s: IGNORECASE pairs it with s
def test_summary_start_check_loses_no_match(text: str) -> None:
    if summary._SUMMARY_START_RE.match(text, 0, 200):
        assert summary._may_open_summary(text)


def _created_iso_reference(value: str) -> str | None:
    """cables_csv.created_iso as first written (int and format every part)."""
    m = cables_csv._CREATED.match(value.strip())
    if m is None:
        return None
    mo, d, y, h, mi = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}"


_DATE_PARTS = st.text(alphabet="0123456789\u0663\u096c", min_size=1, max_size=5)


@settings(max_examples=1500, deadline=None)
@given(_DATE_PARTS, _DATE_PARTS, _DATE_PARTS, _DATE_PARTS, _DATE_PARTS,
       st.sampled_from(["", " ", "\u00a0"]))
@example("6", "16", "2005", "11", "12", "")
@example("12", "31", "0999", "0", "05", " ")
def test_created_iso_is_the_formatted_parts(month: str, day: str, year: str, hour: str,
                                            minute: str, pad: str) -> None:
    value = f"{pad}{month}/{day}/{year} {hour}:{minute}{pad}"
    assert cables_csv.created_iso(value) == _created_iso_reference(value)
