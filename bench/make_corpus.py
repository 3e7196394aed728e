"""Write a cables.csv-format benchmark corpus of N cables from the real cable texts.

    python bench/make_corpus.py [N] OUT.csv [--templates DIR] [--max-templates K] [--seed S]

N defaults to 251,287 (the full Cablegate release; about 2 GB). The format is
that of ../shared/corpus/cables_csv/cables_sample.csv: no header row, 8
double-quoted columns (row id, "M/D/YYYY H:MM", reference ID, origin,
classification, "|"-separated references, header, body), quotes inside fields
backslash-escaped. The header and body texts are the real cables of
../shared/corpus (parsed with cablegate's own parser), re-used in turn under
generated reference IDs, dates and origins; each cable references up to three
earlier generated cables (and now and then one that is not in the corpus).
For benchmarks only: the texts do not match their generated metadata.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATES = ROOT.parent / "shared" / "corpus" / "cablegate_html" / "2011-04_avilaroman"
FULL = 251_287
# Share of cables per year, roughly as in the real release (mostly 2005-2010).
YEAR_WEIGHTS = {**{y: 1 for y in range(1966, 2000)}, 2000: 30, 2001: 40, 2002: 60, 2003: 120,
                2004: 300, 2005: 600, 2006: 1000, 2007: 1000, 2008: 1200, 2009: 1300, 2010: 350}


def load_templates(folder: Path, limit: int | None) -> list[dict]:
    """Header/body/origin/classification of real cables, via cablegate's parser."""
    sys.path.insert(0, str(ROOT))
    from cablegate.errors import ParseError
    from cablegate.parse import parse_inputs

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if limit:
        files = files[:limit]
    templates = []
    for item in parse_inputs(files):
        if isinstance(item, ParseError) or not item.get("body"):
            continue
        templates.append({
            "header": item.get("header") or "",
            "body": item["body"],
            "origin": item.get("origin") or "Embassy Unknown",
            "origin_code": item.get("origin_code") or _code_of(item),
            "classification": item.get("classification") or "UNCLASSIFIED",
        })
    if not templates:
        raise SystemExit(f"no cable texts could be parsed from {folder}")
    return templates


def _code_of(record: dict) -> str:
    refid = record.get("reference_id") or "00UNKNOWN0"
    return "".join(ch for ch in refid[2:] if ch.isalpha()) or "UNKNOWN"


def _csv_date(when: datetime) -> str:
    return f"{when.month}/{when.day}/{when.year} {when.hour}:{when.minute:02d}"


def generate(n: int, out: Path, templates: list[dict], seed: int) -> int:
    rng = random.Random(seed)
    years = list(YEAR_WEIGHTS)
    weights = list(YEAR_WEIGHTS.values())
    origins = sorted({(t["origin"], t["origin_code"]) for t in templates})
    serials: dict[tuple[int, str], int] = {}
    recent: list[str] = []
    written = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, escapechar="\\", doublequote=False,
                            lineterminator="\n")
        for row in range(1, n + 1):
            tpl = templates[(row - 1) % len(templates)]
            year = rng.choices(years, weights)[0]
            origin, code = rng.choice(origins)
            serial = serials[(year, code)] = serials.get((year, code), 0) + rng.randint(1, 40)
            refid = f"{year % 100:02d}{code}{serial}"
            when = datetime(year, 1, 1) + timedelta(minutes=rng.randrange(365 * 24 * 60))
            refs = rng.sample(recent, k=min(len(recent), rng.choice((0, 0, 1, 2, 3))))
            if rng.random() < 0.05:
                refs.append(f"{year % 100:02d}NOWHERE{rng.randint(1, 99999)}")
            writer.writerow([row, _csv_date(when), refid, origin, tpl["classification"],
                             "|".join(refs), tpl["header"], tpl["body"]])
            recent.append(refid)
            if len(recent) > 5000:
                del recent[: len(recent) - 5000]
            written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("args", nargs="+", metavar="[N] OUT.csv")
    parser.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES)
    parser.add_argument("--max-templates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2010)
    opts = parser.parse_args(argv)
    if len(opts.args) > 2:
        parser.error("expected [N] OUT.csv")
    n = int(opts.args[0]) if len(opts.args) == 2 else FULL
    out = Path(opts.args[-1])
    started = time.monotonic()
    templates = load_templates(opts.templates, opts.max_templates)
    written = generate(n, out, templates, opts.seed)
    size = out.stat().st_size
    print(f"{out}: {written:,} cables from {len(templates):,} real texts, "
          f"{size / 1e9:.2f} GB in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
