"""Bad input: each yields one clear ParseError naming the input (and row for CSV); the rest
still parse; nothing raises anything else or hangs (property tests, adversarial inputs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablegate import formats
from cablegate.errors import ParseError
from cablegate.formats import cables_csv, read_inputs
from cablegate.parse import parse_inputs
from cablegate.record import RawCable, empty_record

PAGE = "cablegate_html/2011-04_avilaroman/cable/2008/05/08BEIJING2087.html"
CSV = "cables_csv/cables_sample.csv"
ALX = "txt_alx/89ANKARA17365.txt"
REVEAL = "txt_reveal/05BRASILIA2339.txt"
PLUSD = "plusd_1973_1979/1973STATE097844_b.html"
CSV_ROW = (
    '"{id}","2/25/1972 9:30","72TEHRAN{id}","Embassy Tehran","UNCLASSIFIED","",'
    '"R 250930Z FEB 72\nFM AMEMBASSY TEHRAN","UNCLASSIFIED TEHRAN {id}\n\nSUBJECT: X \\"Y\\"\n"\n'
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def errors_and_cables(paths) -> tuple[list[ParseError], list[RawCable]]:
    items = list(read_inputs(paths))
    assert all(isinstance(i, (ParseError, RawCable)) for i in items)
    return [i for i in items if isinstance(i, ParseError)], [i for i in items if
                                                              isinstance(i, RawCable)]


def only_error(path: Path) -> ParseError:
    errors, cables = errors_and_cables([path])
    assert cables == [] and len(errors) == 1, (errors, cables)
    err = errors[0]
    assert err.path == str(path) and "\n" not in err.message
    where = f"{path}:row {err.row}" if err.row is not None else str(path)
    assert err.message == f"{where}: {err.reason}"
    return err


# --------------------------------------------------------------------------- each bad input


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 40)
    assert "binary data" in only_error(path).reason
    path.write_bytes(b"\x01\x02\x03\x1b[0m" * 500)  # control characters, no NUL
    assert "binary data" in only_error(path).reason


def test_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("R 250930Z FEB 72\nFM AMEMBASSY TEHRAN\nSUBJECT: caf\xe9\n".encode("latin-1"))
    err = only_error(path)
    assert err.reason.startswith("invalid UTF-8 at byte 49")
    path.write_bytes("R 250930Z FEB 72\nFM AMEMBASSY TEHRAN\n".encode("utf-16"))
    assert only_error(path).reason == "UTF-16 text (cables are read as UTF-8)"


def test_truncated_html(corpus, tmp_path):
    page = (corpus / PAGE).read_bytes()
    path = tmp_path / "page.html"
    cases = {
        30_000: "no cable table found (truncated or not a cable page?)",
        page.index(b"<th>Created") + 5: "the cable table is not closed (truncated page?)",
        page.index(b"</table>") + 9:
            "no header <pre> block after the cable table (truncated page?)",
        page.index(b"<code><pre>") + 200: "the header <pre> block is not closed (truncated page?)",
        len(page) - 3000: "the body <pre> block is not closed (truncated page?)",
    }
    for cut, reason in cases.items():
        path.write_bytes(page[:cut])
        assert only_error(path).reason == reason
    # cut after the body block: the cable is complete
    path.write_bytes(page[: page.rindex(b"</pre></code>") + 13])
    _, cables = errors_and_cables([path])
    assert len(cables) == 1 and cables[0].body.endswith("Six-Party Talks priorities. \nPICCUTA")


def test_truncated_html_at_every_point_never_raises(corpus, tmp_path):
    page = (corpus / PAGE).read_bytes()
    path = tmp_path / "page.html"
    end_of_body = page.rindex(b"</pre></code>") + len(b"</pre></code>")
    for cut in range(0, len(page), 997):
        path.write_bytes(page[:cut])
        errors, cables = errors_and_cables([path])
        assert len(errors) + len(cables) == 1
        assert bool(cables) == (cut >= end_of_body)


def test_csv_unbalanced_quote_followed_by_good_rows(corpus, tmp_path):
    sample = (corpus / CSV).read_bytes()
    broken = (
        b'"1","12/28/1966 18:48","66X1","Embassy X","SECRET","","HEADER",'
        b'"body with no closing quote\nswallowing nothing\n'
    )
    path = tmp_path / "cables.csv"
    path.write_bytes(broken + sample)
    errors, cables = errors_and_cables([path])
    assert [(e.path, e.row) for e in errors] == [(str(path), 1)]
    assert "unbalanced double quotes" in errors[0].reason
    assert errors[0].message.startswith(f"{path}:row 1: ")
    assert [c.source["row"] for c in cables] == [2, 3]
    assert [c.meta["reference_id"] for c in cables] == ["66BUENOSAIRES2481", "72TEHRAN1164"]


def test_csv_each_bad_row_is_one_error(tmp_path):
    rows = [CSV_ROW.format(id=i) for i in range(1, 9)]
    rows[1] = rows[1].replace('"Embassy Tehran"', '"Embassy "Teh"ran"')  # unescaped quotes
    rows[3] = rows[3].replace('"UNCLASSIFIED",', '"UNCLASSIFIED","extra",')  # 9 columns
    rows[4] = rows[4].replace('"Embassy Tehran"', '"Embassy Teh\udce9ran"')  # invalid UTF-8
    rows[6] = rows[6].replace('"2/25/1972 9:30"', '"2/31/1972 99:30"')  # bad date: a warning
    path = tmp_path / "cables.csv"
    path.write_bytes("".join(rows).encode("utf-8", "surrogateescape"))
    errors, cables = errors_and_cables([path])
    rows[7] = rows[7].replace('"Embassy Tehran"', '"Embassy "Tehran"')  # unbalanced quote
    path.write_bytes("".join(rows).encode("utf-8", "surrogateescape"))
    errors, cables = errors_and_cables([path])
    assert [e.row for e in errors] == [2, 4, 5, 8]
    assert "unescaped double quotes: 18 found" in errors[0].reason
    assert "unbalanced double quotes: 17 found" in errors[3].reason
    assert errors[1].reason == "9 columns, expected 8 columns (record starting at line 16)"
    assert errors[2].reason.startswith("invalid UTF-8")
    assert [c.source["row"] for c in cables] == [1, 3, 6, 7]
    assert cables[0].body == 'UNCLASSIFIED TEHRAN 1\n\nSUBJECT: X "Y"'
    assert "created" not in cables[3].meta and "unrecognised created date" in cables[3].warnings[0]


def test_csv_oversized_record_is_skipped(monkeypatch):
    monkeypatch.setattr(cables_csv, "MAX_RECORD_BYTES", 2000)
    data = (CSV_ROW.format(id=1) + '"2","1/1/2000 0:00","' + "x" * 9000 + "\n" * 50
            + CSV_ROW.format(id=3)).encode()
    items = list(cables_csv.read([data[i : i + 500] for i in range(0, len(data), 500)], "c.csv"))
    assert [type(i).__name__ for i in items] == ["RawCable", "ParseError", "RawCable"]
    assert items[1].row == 2 and "longer than" in items[1].reason
    assert items[1].reason == (
        "record starting at line 6 is longer than 2,000 bytes (unterminated quote?)")
    assert items[2].source["row"] == 3


def test_ten_megabyte_single_line(tmp_path):
    for name, content in (
        ("line.txt", b"A" * 10_000_000),
        ("telegram.txt", b"SUBJECT: X\nTAGS: PGOV\n" + b"REF: A. " * 1_250_000),
        ("cables.csv", b'"1","1/1/2000 0:00","' + b"x" * 10_000_000 + b'"\n'),
        ("records.jsonl", b'{"reference_id": "' + b"x" * 10_000_000 + b'"}\n'),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        err = only_error(path)
        assert err.row == (1 if name.endswith(("csv", "jsonl")) else None), name


def test_empty_files(tmp_path):
    for name, content, reason in (
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\n", "empty file (whitespace only)"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        assert only_error(path).reason == reason


def test_pages_that_are_not_cables(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body><p>Hello</p></body></html>", encoding="utf-8")
    assert only_error(page).reason.startswith("HTML page that is not a cable page")
    index = tmp_path / "index.html"  # a Cablegate site page without a cable
    index.write_text("<?xml version='1.0' encoding='utf-8' ?>\n<html><head><title>Cable Viewer"
                     "</title></head><body>Browse</body></html>", encoding="utf-8")
    assert only_error(index).reason == "no cable table found (truncated or not a cable page?)"
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list\neggs\nmilk\n", encoding="utf-8")
    assert only_error(notes).reason.startswith("not a cable")
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    assert "PDF" in only_error(broken_pdf).reason


def test_jsonl_bad_lines_name_their_line(tmp_path):
    good = empty_record()
    good["reference_id"] = "07MOSCOW2205"
    path = tmp_path / "records.jsonl"
    lines = [json.dumps(good), "{not json", json.dumps({"reference_id": "x"}), "",
             json.dumps(good)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors, cables = errors_and_cables([path])
    assert [(e.row, e.reason.split(":")[0]) for e in errors] == [
        (2, "not a cablegate record"), (3, "not a cablegate record")]
    assert "missing record keys: created" in errors[1].reason
    assert [c.source["row"] for c in cables] == [1, 5]


def test_missing_path_and_other_inputs_still_parse(corpus, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\xff" * 100)
    missing = tmp_path / "missing.txt"
    errors, cables = errors_and_cables([corpus / PAGE, missing, garbage, corpus / ALX])
    assert [e.path for e in errors] == [str(missing), str(garbage)]
    assert errors[0].reason == "no such file or directory"
    assert [c.meta["reference_id"] for c in cables] == ["08BEIJING2087", "89ANKARA17365"]


def test_directory_walk_rejects_non_cables_and_skips_hidden_and_docs(corpus, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "sub" / "a.html").write_bytes((corpus / PAGE).read_bytes())
    (tmp_path / ".hidden" / "b.txt").write_bytes(b"\x00")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    (tmp_path / "README.md").write_text("# my cables\n", encoding="utf-8")
    (tmp_path / "MANIFEST.tsv").write_text("file\trefid\n", encoding="utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    errors, cables = errors_and_cables([tmp_path])
    assert [e.path for e in errors] == [str(tmp_path / "photo.jpg")]
    assert [c.source["path"] for c in cables] == [str(tmp_path / "sub" / "a.html")]
    # named explicitly, a documentation file is read (and rejected)
    errors, _ = errors_and_cables([tmp_path / "README.md"])
    assert len(errors) == 1


# --------------------------------------------------------------------------- the CLI


def run_cli(*args: str, stdin: bytes | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "cablegate", "parse", *args],
        input=stdin, capture_output=True, timeout=timeout, check=False,
    )


def test_cli_exit_status_and_one_line_per_error(corpus, tmp_path):
    good = run_cli(str(corpus / PAGE), str(corpus / CSV))
    assert good.returncode == 0, good.stderr
    assert good.stderr == b""
    records = [json.loads(line) for line in good.stdout.splitlines()]
    assert [r["reference_id"] for r in records] == [
        "08BEIJING2087", "66BUENOSAIRES2481", "72TEHRAN1164"]

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b'"1","1/1/2000 0:00","unterminated\n' + (corpus / CSV).read_bytes())
    mixed = run_cli(str(empty), str(corpus / ALX), str(bad_csv), str(tmp_path / "none.txt"))
    assert mixed.returncode == 1
    assert len(mixed.stdout.splitlines()) == 3  # 89ANKARA17365 + the two good CSV rows
    lines = mixed.stderr.decode().splitlines()
    assert lines == [
        f"error: {empty}: empty file",
        f"error: {bad_csv}:row 1: unbalanced double quotes: 5 found where 8 quoted columns "
        "need 16 (record starting at line 1)",
        f"error: {tmp_path / 'none.txt'}: no such file or directory",
    ]


def test_cli_reads_stdin(corpus):
    done = run_cli("-", stdin=(corpus / CSV).read_bytes())
    assert done.returncode == 0, done.stderr
    sources = [json.loads(line)["source"] for line in done.stdout.splitlines()]
    assert sources == [{"path": "<stdin>", "format": "cables-csv", "row": 1},
                       {"path": "<stdin>", "format": "cables-csv", "row": 2}]
    done = run_cli("-", stdin=b"\xc3\x28 garbage")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: <stdin>: invalid UTF-8 at byte 0")


# --------------------------------------------------------------------------- properties


def parse_everything(path: Path) -> list:
    """The full pipeline (readers + field parsing): only records or ParseErrors."""
    items = list(parse_inputs([path]))
    for item in items:
        assert isinstance(item, (ParseError, dict)), type(item)
    return items


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(tmp_path, data):
    path = tmp_path / "input"
    path.write_bytes(data)
    parse_everything(path)


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=3000), head=st.sampled_from(
    [b"%PDF-1.4\n", b'"1","1/1/2000 0:00","', b"{", b"<code><pre>", b"<?xml version='1.0' ?>"]))
def test_arbitrary_bytes_behind_format_magic_never_raise(tmp_path, head, data):
    path = tmp_path / "input"
    path.write_bytes(head + data)
    parse_everything(path)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=3000))
def test_arbitrary_text_never_raises(tmp_path, text):
    path = tmp_path / "input.txt"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    parse_everything(path)


MARKERS = [
    b"<code><pre>", b"</pre></code>", b"<table class='cable'>", b"</table>", b"&#x000A;",
    b"<a id='par1' href='#par1'>\xc2\xb6</a>", b"<a href='/tag/PGOV_0.html'>", b"</a>", b'"',
    b'\n"3","1/1/2000 0:00","', b"\\", b"REF: A. ", b"(C) ", b"SUBJECT: ", b"TAGS: ",
    b"C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205\n", b"\n1. (S) ", b"\xff",
    b"This record is a partial extract of the original cable. The full text of the original "
    b"cable is not available.", b"Appears in these articles:<br />",
    b"<a href='http://http://x'>x</a>", b"\n", b"\x00",
]


@st.composite
def mutated(draw, originals: dict[str, bytes]):
    name = draw(st.sampled_from(sorted(originals)))
    data = originals[name]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 5000)))
        op = draw(st.sampled_from(["truncate", "delete", "insert", "duplicate", "splice"]))
        if op == "truncate":
            data = data[:i]
        elif op == "delete":
            data = data[:i] + data[j:]
        elif op == "insert":
            data = data[:i] + draw(st.sampled_from(MARKERS)) * draw(st.integers(1, 50)) + data[i:]
        elif op == "duplicate":
            data = data[:j] + data[i:j] + data[j:]
        else:
            other = originals[draw(st.sampled_from(sorted(originals)))]
            k = draw(st.integers(0, len(other)))
            data = data[:i] + other[k : k + 3000] + data[j:]
    return name, data


@pytest.fixture(scope="module")
def originals(corpus) -> dict[str, bytes]:
    files = {name: (corpus / name).read_bytes() for name in (PAGE, CSV, ALX, REVEAL, PLUSD)}
    files["seed"] = (corpus.parent / "seed" / "000_073a325e002c35d2.txt").read_bytes()
    record = list(parse_inputs([corpus / ALX]))[0]
    files["jsonl"] = (json.dumps(record) + "\n").encode() * 2
    return files


def test_mutations_of_real_cables_never_raise(tmp_path, originals):
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=mutated(originals))
    def check(case):
        name, data = case
        path = tmp_path / ("input" + os.path.splitext(name)[1])
        path.write_bytes(data)
        parse_everything(path)

    check()


# --------------------------------------------------------------------------- adversarial


def adversarial_inputs(corpus: Path, folder: Path) -> list[Path]:
    """1 MB of repeated markers in every format; timings are in bench/formats.py."""
    page = (corpus / PAGE).read_text(encoding="utf-8")
    body_at = page.index("<code><pre>C O N F")
    n = 1 << 20
    cases = {
        "ref.txt": "C O N F I D E N T I A L MOSCOW 002205\nSUBJECT: X\n" + "REF: A. " * (n // 8),
        "marks.txt": "C O N F I D E N T I A L MOSCOW 002205\nTAGS: X\n1. " + "(C) " * (n // 4),
        "paras.txt": "UNCLAS MOSCOW 002205\nSUBJECT: X\n" + "1. (C) A\n" * (n // 9),
        "classlines.txt": "R 140319Z MAY 07\nFM AMEMBASSY MOSCOW\n" + "UNCLAS X\n" * (n // 9),
        "glued.txt": "89ANKARA17365\nS\nWed Dec 06 00:00:00 +0100 1989\nUNCLASSIFIED\nE\n"
        + "AUNCLAS SECTION 01 OF 02 " * (n // 25),
        "pre.html": page[:body_at] + "<code><pre>" * (n // 11),
        "newlines.html": page[:body_at] + "<code><pre>" + "&#x000A;" * (n // 8) + "</pre></code>",
        "anchors.html": page[:body_at] + "<code><pre>"
        + "<a id='par1' href='#par1'>¶</a>" * (n // 32) + "</pre></code>",
        "tags.html": page[:body_at] + "<code><pre>TAGS: " + "<a href='/tag/" * (n // 14),
        "tables.html": page[: page.index("<table")] + "<table class='cable'><tr><td>" * (n // 30),
        "unclosed.html": "<html><body>" + "<div><a href='" * (n // 14),
        "quotes.csv": '"1","1/1/2000 0:00","' + '"' * n,
        "rowstarts.csv": '\n"2","3' * (n // 7),
        "repost.txt": "Reference ID Created Released Classification Origin\n" + "x " * (n // 2),
    }
    paths = []
    for name, text in cases.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_adversarial_inputs_complete(corpus, tmp_path):
    paths = adversarial_inputs(corpus, tmp_path)
    # a hang detector, not a timing: each run gets a generous hard limit
    done = run_cli(*map(str, paths), timeout=60)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    outputs = len(done.stdout.splitlines()) + len(done.stderr.splitlines())
    assert outputs >= len(paths)


def test_csv_error_lines_are_the_same_counted_late_or_as_read(tmp_path, monkeypatch):
    """A regular file's error lines are counted only for the errors (FileLines);
    a stream's as it goes by: both name the same lines, past a byte order mark,
    blank lines and an oversized record too."""
    monkeypatch.setattr(cables_csv, "MAX_RECORD_BYTES", 2000)
    # the same chunks both ways (a record is oversized when it outgrows them)
    monkeypatch.setattr(formats, "SNIFF_BYTES", 700)
    monkeypatch.setattr(formats, "CHUNK_BYTES", 700)
    rows = [CSV_ROW.format(id=i) for i in range(1, 7)]
    rows[1] = rows[1].replace('"UNCLASSIFIED",', '"UNCLASSIFIED","extra",')  # 9 columns
    rows[3] = '"4","1/1/2000 0:00","' + "x" * 9000 + "\n" * 50  # oversized
    rows[5] = rows[5].replace('"Embassy Tehran"', '"Embassy "Tehran"')  # unbalanced quote
    data = b"\xef\xbb\xbf" + "\n\n".join(rows).encode()
    path = tmp_path / "cables.csv"
    path.write_bytes(data)

    def reasons(items: list) -> list[str]:
        return [item.reason for item in items if isinstance(item, ParseError)]

    late = reasons(list(read_inputs([path])))
    as_read = reasons(list(cables_csv.read([data[i : i + 700] for i in range(0, len(data), 700)],
                                           str(path))))
    assert late == as_read and len(late) == 3
    assert [reason.split("line ")[1].split()[0].rstrip(")") for reason in late] == [
        str(data[: data.index(b'"2","')].count(b"\n") + 1),
        str(data[: data.index(b'"4","')].count(b"\n") + 1),
        str(data[: data.index(b'"6","')].count(b"\n") + 1),
    ]
