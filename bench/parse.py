"""Parsing speed: whole pipeline (read + every field of the record) on one core.

Prints figures, asserts nothing (docs/performance.md, section "Parsing"):

    python3 bench/parse.py                  # all sections, pure Python then compiled
    python3 bench/parse.py html csv         # some of: floor, html, text, csv, fields, adversarial
    python3 bench/parse.py --build compiled csv     # one build only: pure, compiled (or both)
    python3 bench/parse.py compare [REV [PASSES]]   # working tree vs. git revision (HEAD)
    # whatever cablegate is importable (e.g. a build installed aside), not the working tree:
    CABLEGATE_BENCH_INSTALLED=1 PYTHONPATH=/tmp/cablegate-compiled python3 bench/parse.py

Each section runs twice: on the working tree as it is (pure Python, what an
editable install runs) and on the compiled build of the same source
(``CABLEGATE_COMPILE=1``, setup.py: what ``cablegate`` runs in production),
which is built into bench/out/compiled/<hash of the package's files> the
first time (about a minute; it needs a C compiler and the Python headers) and
measured in a child process.

* floor: the issue's reference floor on the same pages -- read each file, cut
  the two <pre> blocks with one regex, unescape -- measured here too, so the
  figures can be compared with it on a machine whose load varies.
* html: the 1,601 pages of ../shared/corpus/cablegate_html/2011-04_avilaroman
  (112 MB) through cablegate.parse.parse_inputs: file reads, format detection,
  <pre> cutting, then cablegate.telegram.build_record for every field.
* text: the plain-text files (txt_reveal, txt_alx) and the seed, repeated.
* csv: a cables.csv file written to a temporary folder from the corpus's own
  cables (the 2011-04 pages' metadata, header and body, in the 8-column,
  backslash-escaped format), repeated to N rows (default 20,000), streamed.
* fields: build_record alone on the 1,601 pages' RawCables (the field parser's
  share of the html figure).
* adversarial: seconds for 1 MB and 10 MB hostile inputs through build_record.
* compare: the working tree's readers and field parser against those of a git
  revision (``git archive``, imported as ``cablegate_base``), alternating pass
  by pass in this one process on the same inputs -- the way to see a gain
  smaller than the machine's load swings.

Each figure is the best CPU time (time.process_time) of a few runs: the machine
is shared, and wall-clock time would include the other processes' load. The
process is single-threaded, so this is one core's throughput.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("CABLEGATE_BENCH_INSTALLED") != "1":
    sys.path.insert(0, str(ROOT))  # this working tree's package, else the one installed

from cablegate.formats import read_inputs  # noqa: E402
from cablegate.parse import parse_inputs  # noqa: E402
from cablegate.record import RawCable  # noqa: E402
from cablegate.telegram import build_record  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
HTML = CORPUS / "cablegate_html" / "2011-04_avilaroman"
SEED = ROOT.parent / "shared" / "seed"
RUNS = 3


def best_of(fn, runs: int = RUNS) -> float:
    """Best CPU time of this process over a few runs: the machine is shared by
    several engineers, so wall-clock time would measure their load, not ours."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def count_records(paths: list) -> int:
    count = 0
    for item in parse_inputs(paths):
        if isinstance(item, dict):
            count += 1
    return count


def report(label: str, cables: int, megabytes: float, seconds: float) -> None:
    print(f"{label:<44} {cables:>7,} cables  {cables / seconds:>8,.0f} cables/s  "
          f"{megabytes / seconds:>7,.1f} MB/s  ({seconds / cables * 1e3:.3f} ms/cable)")


PRE = re.compile(r"<code><pre>(.*?)</pre></code>", re.S)


def floor_html(files: list[Path]) -> int:
    """The issue's floor: read each page, cut the two <pre> blocks with one
    regex, unescape the newlines. Nothing else."""
    count = 0
    for path in files:
        blocks = PRE.findall(path.read_text(encoding="utf-8"))
        count += len([b.replace("&#x000A;", "\n") for b in blocks[:2]])
    return count


def bench_floor() -> None:
    files = sorted(HTML.rglob("*.html"))
    size = sum(f.stat().st_size for f in files) / 1e6
    seconds = best_of(lambda: floor_html(files))
    report("floor: read + cut <pre> with one regex", len(files), size, seconds)


def bench_html() -> None:
    files = sorted(HTML.rglob("*.html"))
    size = sum(f.stat().st_size for f in files) / 1e6
    count_records([HTML])  # warm the page cache and the lazy tables
    seconds = best_of(lambda: count_records([HTML]))
    report("html 2011-04 pages, full pipeline", len(files), size, seconds)


def bench_text() -> None:
    files = sorted((CORPUS / "txt_reveal").glob("*.txt")) + sorted(
        (CORPUS / "txt_alx").glob("*.txt")) + sorted(SEED.glob("*.txt"))
    repeat = 30
    size = sum(f.stat().st_size for f in files) / 1e6 * repeat
    paths = [str(f) for f in files] * repeat
    seconds = best_of(lambda: count_records(paths))
    report(f"plain texts (reveal, alx, seed) x{repeat}", len(paths), size, seconds)


def write_cables_csv(path: Path, rows: int) -> int:
    """The 2011-04 pages' cables as cables.csv rows, repeated to ``rows``."""
    source = [raw for raw in read_inputs([HTML]) if isinstance(raw, RawCable)]
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, escapechar="\\", doublequote=False,
                            lineterminator="\n")
        while written < rows:
            for raw in source:
                if written >= rows:
                    break
                meta = raw.meta
                created = meta.get("created") or "2000-01-01T00:00"
                year, month, day = created[:10].split("-")
                stamp = f"{int(month)}/{int(day)}/{year} {int(created[11:13])}:{created[14:16]}"
                written += 1
                writer.writerow([
                    written, stamp, meta.get("reference_id", ""), meta.get("origin", ""),
                    meta.get("classification", ""), "", raw.header or "",
                    (raw.body or "") + "\n",
                ])
    return written


def bench_csv(rows: int = 20_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cables.csv"
        written = write_cables_csv(path, rows)
        size = path.stat().st_size / 1e6
        seconds = best_of(lambda: count_records([path]))
        report(f"cables.csv stream ({size:.0f} MB file)", written, size, seconds)


def bench_fields() -> None:
    raws = [raw for raw in read_inputs([HTML]) if isinstance(raw, RawCable)]
    size = sum(len(r.header or "") + len(r.body or "") for r in raws) / 1e6
    seconds = best_of(lambda: [build_record(r) for r in raws], runs=5)
    report("build_record alone (2011-04 RawCables)", len(raws), size, seconds)


ADVERSARIAL = {
    "1 MB of 'REF: A. '": "UNCLAS STATE 001234\nSUBJECT: X\n" + "REF: A. " * 131_072,
    "1 MB of '(C) (C) '": "(C) (C) " * 131_072,
    "1 MB of '1. (C) x' lines": "".join(f"{i % 999 + 1}. (C) x\n" for i in range(110_000)),
    "1 MB of page-break lines": "MOSCOW 00002205  002 OF 002\n" * 37_000,
    "1 MB of ' OF 002'": " OF 002" * 150_000,
    "1 MB of 'Classified By: ... 1.4 (b) and '": "Classified by: reasons 1.4 (b) and " * 30_000,
    "10 MB single line": "A" * 10_000_000,
    "10 MB spaced banner": "S E C R E T " * 850_000,
}


def bench_adversarial() -> None:
    for label, text in ADVERSARIAL.items():
        raw = RawCable(header=text[:200_000], body=text, source={"path": label})
        seconds = best_of(lambda raw=raw: build_record(raw), runs=1)
        print(f"adversarial {label:<40} {seconds:6.3f} s")


def load_base_package(revision: str, folder: Path):
    """The ``cablegate`` package of a git revision (``git archive``: read-only),
    imported as ``cablegate_base`` so that it runs beside the working tree's.
    The package uses relative imports only, so it works under another name."""
    import importlib
    import io
    import tarfile

    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "cablegate"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            tar.extractall(folder, filter="data")
        else:  # our own repository's archive
            tar.extractall(folder)  # noqa: S202
    (folder / "cablegate").rename(folder / "cablegate_base")
    sys.path.insert(0, str(folder))
    return importlib.import_module("cablegate_base.parse")


def alternate(label: str, runs: dict, cables: int, passes: int) -> None:
    """Best CPU time of each variant, the variants alternating pass by pass
    (the machine's load changes from minute to minute, more than the gain)."""
    best = {name: float("inf") for name in runs}
    for _ in range(passes):
        for name, fn in runs.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    base, new = best["base"], best["new"]
    print(f"{label:<44} base {cables / base:>6,.0f}/s ({base / cables * 1e3:.3f} ms)  "
          f"new {cables / new:>6,.0f}/s ({new / cables * 1e3:.3f} ms)  {base / new:.2f}x")


def bench_compare(revision: str = "HEAD", passes: int = 20, rows: int = 1000) -> None:
    """The working tree against ``revision`` (default HEAD), same inputs, same process
    (short passes, many of them: more chances that one falls in a quiet moment)."""
    with tempfile.TemporaryDirectory() as folder:
        base_parse = load_base_package(revision, Path(folder) / "base")
        import cablegate_base.formats as base_formats
        import cablegate_base.telegram as base_telegram

        def count(parse_inputs_fn, paths: list) -> int:
            return sum(1 for item in parse_inputs_fn(paths) if isinstance(item, dict))

        csv_path = Path(folder) / "cables.csv"
        written = write_cables_csv(csv_path, rows)
        assert count(parse_inputs, [csv_path]) == count(base_parse.parse_inputs, [csv_path])
        alternate(f"cables.csv rows ({written:,}), full pipeline", {
            "base": lambda: count(base_parse.parse_inputs, [csv_path]),
            "new": lambda: count(parse_inputs, [csv_path])}, written, passes)
        pages = len(sorted(HTML.rglob("*.html")))
        alternate(f"2011-04 pages ({pages:,}), full pipeline", {
            "base": lambda: count(base_parse.parse_inputs, [HTML]),
            "new": lambda: count(parse_inputs, [HTML])}, pages, passes)
        raws = [raw for raw in read_inputs([HTML]) if isinstance(raw, RawCable)]
        base_raws = [raw for raw in base_formats.read_inputs([HTML])
                     if not isinstance(raw, Exception)]
        alternate("build_record alone (2011-04 RawCables)", {
            "base": lambda: [base_telegram.build_record(r) for r in base_raws],
            "new": lambda: [build_record(r) for r in raws]}, len(raws), passes)


SECTIONS = {"floor": bench_floor, "html": bench_html, "text": bench_text, "csv": bench_csv,
            "fields": bench_fields, "adversarial": bench_adversarial}


def build_description() -> str:
    """Which package is measured: its folder, and whether its field parser is
    the compiled build (``CABLEGATE_COMPILE=1``, setup.py)."""
    import cablegate
    import cablegate.telegram

    compiled = not cablegate.telegram.__file__.endswith(".py")
    folder = Path(cablegate.__file__).parent
    return f"{folder} (field parser {'compiled by mypyc' if compiled else 'pure Python'})"


def compiled_build() -> Path:
    """The compiled build of this working tree (setup.py, ``CABLEGATE_COMPILE=1``),
    installed under bench/out/compiled/, once per version of the package's files
    (the whole package is installed there, the compiled modules and the others)."""
    digest = hashlib.sha256()
    sources = [ROOT / "setup.py", ROOT / "pyproject.toml",
               *sorted(p for p in (ROOT / "cablegate").rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts)]
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    folder = ROOT / "bench" / "out" / "compiled" / digest.hexdigest()[:16]
    if not (folder / "cablegate").is_dir():
        for stale in folder.parent.glob("*"):  # builds of earlier versions of the source
            shutil.rmtree(stale, ignore_errors=True)
        print(f"building the compiled parser into {folder.relative_to(ROOT)} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--root-user-action=ignore",
             "--no-deps", "--target", str(folder), str(ROOT)],
            check=True, cwd=ROOT, env={**os.environ, "CABLEGATE_COMPILE": "1"},
        )
    return folder


def run_compiled(sections: list[str]) -> int:
    """The sections in a child process that imports the compiled build."""
    try:
        folder = compiled_build()
    except subprocess.CalledProcessError:
        print("no compiled build: pip could not build it (above; it needs a C compiler and "
              "the Python headers)", file=sys.stderr)
        return 1
    env = {**os.environ, "CABLEGATE_BENCH_INSTALLED": "1", "PYTHONPATH": str(folder)}
    return subprocess.run([sys.executable, "-P", __file__, *sections], env=env).returncode


def main(argv: list[str]) -> int:
    if not CORPUS.is_dir():
        print("../shared/corpus is not present", file=sys.stderr)
        return 1
    if argv[:1] == ["compare"]:  # compare [REVISION [PASSES]]: not part of the default run
        bench_compare(*argv[1:2], *(int(a) for a in argv[2:3]))
        return 0
    build = "both"
    if argv[:1] == ["--build"]:
        build, argv = argv[1], argv[2:]
    if os.environ.get("CABLEGATE_BENCH_INSTALLED") == "1":
        build = "pure"  # (i.e. this process's: whatever is importable)
    if build in ("pure", "both"):
        print(f"cablegate: {build_description()}", flush=True)
        for name in argv or list(SECTIONS):
            SECTIONS[name]()
    if build in ("compiled", "both"):
        return run_compiled(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
