"""Shared fixtures. The real corpus lives in ../shared beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
REFERENCE = SHARED / "reference"
SEED = SHARED / "seed" / "000_073a325e002c35d2.txt"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real corpus folder; tests that need it skip only when ../shared is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(scope="session")
def seed_page() -> Path:
    if not SEED.is_file():
        pytest.skip("../shared/seed is not present")
    return SEED
