"""Reference-ID canonicalisation and the lookups built from ../shared/reference."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from conftest import REFERENCE, ROOT

from cablegate import ids


@pytest.mark.parametrize(
    ("published", "canonical"),
    [
        ("07MOSCOW2205", "07MOSCOW2205"),
        ("66BUENOSAIRES2481", "66BUENOSAIRES2481"),
        ("09USUNNEWYORK93", "09USUNNEWYORK93"),
        ("09PARTO41305", "09PARTO41305"),  # a delegation code, seen in the corpus
        ("07MOSCOW02205", "07MOSCOW2205"),  # leading zeros dropped
        ("09SECSTATE123", "09STATE123"),  # alias from cablemap's table
        ("1974ATHENS02959", "74ATHENS2959"),  # PlusD numbering
        ("1973STATE097844", "73STATE97844"),
    ],
)
def test_canonical_id(published: str, canonical: str) -> None:
    assert ids.canonical_id(published)[0] == canonical


def test_canonical_id_notes_the_published_form() -> None:
    _, notes = ids.canonical_id("1974ATHENS02959")
    assert notes == ["reference_id: published as '1974ATHENS02959' (PlusD numbering)"]
    assert ids.canonical_id("07MOSCOW2205")[1] == []


@pytest.mark.parametrize("published", ["7575LIBREVILLE1895", "09EFTOLONDON2468", "MOSCOW", "07 MOSCOW"])
def test_malformed_ids_are_kept_as_published_with_a_warning(published: str) -> None:
    kept, notes = ids.canonical_id(published)
    assert kept == published
    assert len(notes) == 1 and published in notes[0]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("SECSTATE", "STATE"),
        ("USUN NEW YORK", "USUNNEWYORK"),
        ("Sao Paulo", "SAOPAULO"),
        ("ST PETERSBURG", "STPETERSBURG"),
        ("THE HAGUE", "THEHAGUE"),
        ("PORT-AU-PRINCE", "PORTAUPRINCE"),
        ("NEW DELHI", "NEWDELHI"),
        ("GOTHAM CITY", None),
    ],
)
def test_resolve_code(written: str, code: str | None) -> None:
    assert ids.resolve_code(written) == code


def test_make_id() -> None:
    assert ids.make_id("07", "MOSCOW", "002205") == "07MOSCOW2205"
    assert ids.make_id("2007", "SAN JOSE", "2070") == "07SANJOSE2070"
    assert ids.make_id(None, "MOSCOW", "2205") is None
    assert ids.make_id("07", "NOWHERE", "2205") is None
    assert ids.make_id("07", "MOSCOW", "0000") is None


def test_split_and_code_of() -> None:
    assert ids.split_id("07MOSCOW2205") == ("07", "MOSCOW", "2205")
    assert ids.split_id("1974ATHENS02959") is None
    assert ids.code_of("7575LIBREVILLE1895") == "LIBREVILLE"
    assert ids.code_of(None) is None


def test_origin_names_only_when_confirmed() -> None:
    assert ids.origin_name("MOSCOW") == "Embassy Moscow"  # observed in the sample
    assert ids.origin_name("USUNNEWYORK") == "USUN New York"  # seen in the corpus
    assert ids.origin_name("GENEVA") == "US Mission Geneva"
    # ACCRA's name is built by rule (derived): not used unless asked for
    assert ids.origin_name("ACCRA") is None
    assert ids.origin_name("ACCRA", confirmed_only=False) == "Embassy Accra"
    # BRUSSELS IDs belong to Embassy Brussels and USEU Brussels alike
    assert ids.origin_name("BRUSSELS") is None


def test_sender_addresses() -> None:
    assert ids.code_for_address("AMEMBASSY MOSCOW") == "MOSCOW"
    assert ids.code_for_address("SECSTATE  WASHDC") == "STATE"
    assert ids.code_for_address("USMISSION USUN NEW YORK") == "USUNNEWYORK"
    assert ids.code_for_address("USEU BRUSSELS") == "USEUBRUSSELS"
    assert ids.code_for_address("AMEMBASSY BRUSSELS") == "BRUSSELS"
    assert ids.code_for_address("AMCONSUL HONG KONG") == "HONGKONG"
    assert ids.code_for_address("NOWHERE") is None


def test_site_lookups() -> None:
    assert ids.routing_name("RUEHMO") == "Embassy Moscow"
    assert ids.routing_name("ruehc") == "Secretary of State"
    assert ids.routing_code("RUEHMO") == "MOSCOW"
    assert ids.routing_name("RUEHXXXX") is None
    assert ids.tag_info("PREL")["meaning"] == "External Political Relations"
    assert ids.tag_info("RS")["kind"] == "geographic"
    assert ids.precedence_name("O") == "IMMEDIATE"
    assert ids.precedence_name("z") == "FLASH"
    assert ids.reason_category("1.4(b)") == "foreign government information;"
    assert ids.reason_category("1.5(d)").startswith("foreign relations")
    assert ids.reason_category("1.4(z)") is None
    assert ids.caveat_meaning("NOFORN").startswith("Not releasable")
    assert ids.caveat_meaning("SBU").startswith("Sensitive But Unclassified")


def test_shipped_tables_cover_the_reference_files() -> None:
    """Every code, routing indicator and tag of ../shared/reference is shipped."""
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    with (REFERENCE / "origins.csv").open(encoding="utf-8") as handle:
        codes = {row["origin_code"] for row in csv.DictReader(handle)}
    assert codes == set(ids.origins())
    with (REFERENCE / "tags.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert ids.tag_info(row["tag"]) is not None
    with (REFERENCE / "routing_indicators.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert all(ids.routing_name(r["routing_indicator"]) for r in rows if r["plain_language_address"])
    precedence = json.loads((REFERENCE / "precedence.json").read_text("utf-8"))
    for entry in precedence["precedences"]:
        assert ids.precedence_name(entry["prosign"]) == entry["name"]


def test_build_script_reproduces_the_shipped_data(tmp_path) -> None:
    """scripts/build_reference_data.py regenerates cablegate/data byte for byte."""
    if not REFERENCE.is_dir():
        pytest.skip("../shared/reference is not present")
    data = ROOT / "cablegate" / "data"
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_reference_data.py"), str(REFERENCE)],
        check=True, capture_output=True,
    )
    after = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    assert after == before
