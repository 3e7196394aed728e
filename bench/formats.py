"""Speed of the format readers (cablegate/formats), and of adversarial inputs.

Prints figures, asserts nothing. One core, in process:

    python3 bench/formats.py                 # all sections
    python3 bench/formats.py html csv        # some: html, csv, text, adversarial

* html: the 1,601 site pages of ../shared/corpus/cablegate_html/2011-04_avilaroman,
  read from memory (reader only: detection, table, <pre> cut, markup removal),
  then with file reading, then the full pipeline (field parsing too).
* csv: a cables.csv-format file of N rows (default 20,000) written to a temporary
  folder from the two real rows of cables_sample.csv, streamed by the reader.
* text: the alx, reveal and seed plain-text files, reader only.
* adversarial: 1 MB inputs of repeated markers (the ones tests/test_bad_input.py
  feeds the CLI): seconds for the reader alone and for the full pipeline.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cablegate.errors import ParseError  # noqa: E402
from cablegate.formats import raw_from_bytes, read_inputs  # noqa: E402
from cablegate.parse import parse_inputs  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
HTML = CORPUS / "cablegate_html" / "2011-04_avilaroman"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_html() -> None:
    files = sorted(HTML.rglob("*.html"))
    blobs = [(str(f), f.read_bytes()) for f in files]
    size = sum(len(b) for _, b in blobs) / 1e6
    best = min(timed(lambda: [raw_from_bytes(b, p) for p, b in blobs]) for _ in range(3))
    print(f"html reader, from memory: {len(files)} pages, {size:.0f} MB: "
          f"{len(files) / best:,.0f} pages/s, {size / best:,.0f} MB/s, "
          f"{best / len(files) * 1e3:.3f} ms/page")
    elapsed = timed(lambda: sum(1 for _ in read_inputs([HTML])))
    print(f"html reader, with file reads: {len(files) / elapsed:,.0f} pages/s")
    elapsed = timed(lambda: sum(1 for _ in parse_inputs([HTML])))
    print(f"html full pipeline (field parsing too): {len(files) / elapsed:,.0f} cables/s")


def bench_csv(rows: int = 20_000) -> None:
    sample = (CORPUS / "cables_csv" / "cables_sample.csv").read_bytes()
    second = sample.index(b'\n"2","') + 1
    records = [sample[:second], sample[second:]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cables.csv"
        with open(path, "wb") as out:
            for i in range(rows):
                record = records[i % 2]
                out.write(b'"%d"' % (i + 1) + record[record.index(b","):])
        size = path.stat().st_size / 1e6
        count = 0

        def read() -> None:
            nonlocal count
            count = sum(1 for item in read_inputs([path]) if not isinstance(item, ParseError))

        elapsed = timed(read)
        print(f"csv reader: {count:,} rows, {size:.0f} MB: {count / elapsed:,.0f} rows/s, "
              f"{size / elapsed:,.0f} MB/s")
        elapsed = timed(lambda: sum(1 for _ in parse_inputs([path])))
        print(f"csv full pipeline (field parsing too): {rows / elapsed:,.0f} cables/s")


def bench_text() -> None:
    files = sorted((CORPUS / "txt_alx").glob("*")) + sorted((CORPUS / "txt_reveal").glob("*"))
    blobs = [(str(f), f.read_bytes()) for f in files]
    best = min(timed(lambda: [raw_from_bytes(b, p) for p, b in blobs]) for _ in range(3))
    print(f"text readers (alx + reveal): {len(files)} files: {len(files) / best:,.0f} files/s")


def bench_adversarial() -> None:
    from test_bad_input import adversarial_inputs

    with tempfile.TemporaryDirectory() as folder:
        for path in adversarial_inputs(CORPUS, Path(folder)):
            reader = timed(lambda p=path: list(read_inputs([p])))
            full = timed(lambda p=path: list(parse_inputs([p])))
            outcome = Counter(type(i).__name__ for i in parse_inputs([path]))
            print(f"adversarial {path.name:16s} {path.stat().st_size / 1e6:.1f} MB: "
                  f"reader {reader:.3f} s, full pipeline {full:.3f} s -> {dict(outcome)}")


SECTIONS = {"html": bench_html, "csv": bench_csv, "text": bench_text,
            "adversarial": bench_adversarial}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SECTIONS):
        SECTIONS[name]()
