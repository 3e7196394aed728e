#!/usr/bin/env python3
"""Derive the compact lookup tables in cablegate/data/ from ../shared/reference.

Run from the project root:  python3 scripts/build_reference_data.py [REFERENCE_DIR]

The output is committed; the package never reads ../shared at run time. Every
value comes from the reference files (see ../shared/reference/README.md), except
the few origin names in ``CORPUS_ORIGIN_NAMES`` below, which are the Origin
values the WikiLeaks site itself shows for those codes in the shared corpus
(cited per entry) and which correct names the reference marks as ``derived``.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
OUT = ROOT / "cablegate" / "data"

# Origin names shown by the WikiLeaks site (the Origin cell of the metadata table)
# for cables in ../shared/corpus/cablegate_html whose reference table name is only
# "derived" (built by rule) or wrong.  status "corpus" = observed there.
CORPUS_ORIGIN_NAMES: dict[str, tuple[str, str]] = {
    # 2011-04 page cable/2008/04/08GENEVA256.html: "US Mission Geneva"
    "GENEVA": ("US Mission Geneva", "corpus"),
    # 2011-04 pages 06USUNNEWYORK1033, 08USUNNEWYORK176, 09USUNNEWYORK93 ...: "USUN New York"
    "USUNNEWYORK": ("USUN New York", "corpus"),
    # 2011-04 page 09PARTO41305.html: "US Delegation, Secretary"
    "PARTO": ("US Delegation, Secretary", "corpus"),
    # USEU cables carry BRUSSELS reference IDs with Origin "USEU Brussels"
    # (09BRUSSELS537, 09BRUSSELS1032, 10BRUSSELS186), confirming the USEU name.
    "USEUBRUSSELS": ("USEU Brussels", "corpus"),
}

# Codes whose origin cannot be told from the reference ID alone: the reference
# notes that 7 of 11 sample BRUSSELS-ID cables are USEU Brussels cables.
AMBIGUOUS_CODES = {"BRUSSELS"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def split_names(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def build_origins(reference: Path) -> None:
    rows = []
    for row in read_csv(reference / "origins.csv"):
        code = row["origin_code"]
        name, status = row["origin_name"], row["name_status"]
        if row["kind"] == "reference_only":
            status = "reference_only"
        if code in CORPUS_ORIGIN_NAMES:
            name, status = CORPUS_ORIGIN_NAMES[code]
        if code in AMBIGUOUS_CODES:
            status = "ambiguous"
        aliases = " ".join(a.replace(" ", "") for a in split_names(row["aliases"]))
        rows.append([code, name, status, row["kind"], row["routing_indicator"], aliases])
    rows.sort()
    write_csv(
        OUT / "origins.csv",
        ["code", "name", "name_status", "kind", "routing_indicator", "aliases"],
        rows,
    )


def build_routing(reference: Path) -> None:
    rows = []
    for row in read_csv(reference / "routing_indicators.csv"):
        others = " | ".join(split_names(row["other_names"]))
        rows.append(
            [
                row["routing_indicator"],
                row["plain_language_address"],
                row["post_name"],
                row["origin_code"],
                row["scope"],
                others,
            ]
        )
    rows.sort()
    write_csv(
        OUT / "routing.csv",
        ["routing_indicator", "address", "post_name", "origin_code", "scope", "other_names"],
        rows,
    )


def build_tags(reference: Path) -> None:
    rows = [
        [row["tag"], row["kind"], row["category"], row["meaning"], row["confidence"]]
        for row in read_csv(reference / "tags.csv")
    ]
    rows.sort()
    write_csv(OUT / "tags.csv", ["tag", "kind", "category", "meaning", "confidence"], rows)


def build_reference_json(reference: Path) -> None:
    reasons = json.loads((reference / "classification_reasons.json").read_text("utf-8"))
    classes = json.loads((reference / "classifications.json").read_text("utf-8"))
    precedence = json.loads((reference / "precedence.json").read_text("utf-8"))
    categories = {
        key: {"items": value["items"], "wording_status": value.get("wording_status")}
        for key, value in reasons["categories"].items()
    }
    data = {
        "about": "Derived from ../shared/reference by scripts/build_reference_data.py.",
        "precedences": {
            p["prosign"]: {"name": p["name"], "confidence": p["confidence"]}
            for p in precedence["precedences"]
        },
        "reason_crosswalk": {row["letter"]: row for row in reasons["crosswalk"]},
        "reason_categories": categories,
        "caveats": {
            c["marking"]: {key: c[key] for key in ("meaning", "kind", "confidence")}
            for c in classes["caveats"]
        },
        "paragraph_markings": {
            m["marking"].strip("()"): m["meaning"] for m in classes["paragraph_markings"]
        },
        "classification_values": {v["value"]: v["means"] for v in classes["wikileaks_values"]},
    }
    (OUT / "reference.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8"
    )


def main(argv: list[str]) -> int:
    reference = Path(argv[1]) if len(argv) > 1 else DEFAULT_REFERENCE
    if not (reference / "origins.csv").is_file():
        print(f"no reference data in {reference}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    build_origins(reference)
    build_routing(reference)
    build_tags(reference)
    build_reference_json(reference)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir() if p.is_file()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
