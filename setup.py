"""The optional compiled field parser: ``CABLEGATE_COMPILE=1 pip install .``

Everything else about the package is declared in pyproject.toml. With
``CABLEGATE_COMPILE=1`` the parser's hot modules (``COMPILED``: the field
parser, the cables.csv reader, reference IDs -- the CPU of parsing and most
of the CPU of an ingest) are compiled to C extension modules by mypyc, the
compiler mypy and black ship their own wheels with: the same source, the same
records (scripts/test runs the parser's tests on the compiled build), 29 %
fewer instructions per cables.csv row (docs/performance.md, "Parsing"). mypy
2.4.1: its mypyc calls str.find, rfind, count, strip, partition ... as C
primitives, where 1.13 called them as Python methods (8 % of the instructions).
Without it -- and always for editable installs, where a compiled module would
hide edits to its source -- the package is pure Python. Building needs a C
compiler and the Python headers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

COMPILED = sorted(str(p) for p in Path("cablegate/fields").glob("*.py")) + [
    "cablegate/telegram.py",
    "cablegate/formats/cables_csv.py",
    "cablegate/formats/_common.py",
    "cablegate/ids.py",
]


def _wants_compiled() -> bool:
    return os.environ.get("CABLEGATE_COMPILE") == "1" and "editable_wheel" not in sys.argv


def _compiled_modules() -> list:
    if not _wants_compiled():
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        # pip first asks for the build requirements (setup_requires below, mypy)
        # and only then builds: this first pass has no mypy yet
        return []
    return mypycify(COMPILED, opt_level="3")


setup(
    setup_requires=["mypy==2.4.1"] if _wants_compiled() else [],
    ext_modules=_compiled_modules(),
)
