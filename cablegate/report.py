"""Per-field coverage and per-format counts over parsed records (``parse --report``)."""

from __future__ import annotations

from collections import Counter

from .record import FIELDS, Record


def is_filled(value: object) -> bool:
    return value not in (None, "", [], {}, False)


class Coverage:
    def __init__(self) -> None:
        self.total = 0
        self.filled: Counter[str] = Counter()
        self.formats: Counter[str] = Counter()

    def add(self, record: Record) -> None:
        self.total += 1
        self.formats[record.get("source", {}).get("format") or "unknown"] += 1
        for name in FIELDS:
            if is_filled(record.get(name)):
                self.filled[name] += 1

    def share(self, name: str) -> float:
        return self.filled[name] / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {
            "cables": self.total,
            "formats": dict(sorted(self.formats.items())),
            "coverage": {name: round(self.share(name), 4) for name in FIELDS},
        }

    def render(self, rejected: int = 0) -> str:
        lines = [f"cables: {self.total}   rejected: {rejected}", "", "format counts:"]
        lines += [f"  {fmt:<32} {n:>7}" for fmt, n in sorted(self.formats.items())]
        lines += ["", "field coverage (share of cables where the field is non-empty):"]
        lines += [
            f"  {name:<24} {self.share(name) * 100:6.1f}%  ({self.filled[name]})" for name in FIELDS
        ]
        return "\n".join(lines)
