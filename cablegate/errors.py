"""The one error type the parser raises for bad input."""

from __future__ import annotations


class ParseError(ValueError):
    """An input could not be read as a cable.

    ``str(err)`` is a one-line message naming the input (path, and row for CSV)
    and the reason, ready to print on stderr.
    """

    def __init__(self, reason: str, path: str | None = None, row: int | None = None) -> None:
        self.reason = " ".join(str(reason).split())  # always one line
        self.path = path
        self.row = row
        super().__init__(self.message)

    @property
    def where(self) -> str:
        where = self.path or "<input>"
        if self.row is not None:
            where += f":row {self.row}"
        return where

    @property
    def message(self) -> str:
        return f"{self.where}: {self.reason}"
