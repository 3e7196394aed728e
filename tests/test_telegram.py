"""Field parsing (cablegate.telegram.build_record), field by field, on snippets
of real cables (the seed 07MOSCOW2205 and pages of ../shared/corpus)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablegate.errors import ParseError
from cablegate.record import FIELDS, RawCable, to_json
from cablegate.telegram import build_record

SEED_HEADER = "DE RUEHMO #2205/01 1340319\nO 140319Z MAY 07\n"
SEED_BODY = """C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205 
E.O. 12958: DECL: 05/11/2017 
Classified By: Ambassador William J. Burns.  Reasons 1,4 (B/D). 
1.  (C) Summary.  In a May 10 meeting with the Ambassador, 
DFM Losyukov promised "no surprises" at the Bishkek Shanghai 
Cooperation Organization summit.  End summary. 
2.  (C) In a May 10 meeting, Deputy Foreign Minister Losyukov 
assured the Ambassador that enlargement would not be on the 
agenda at the August Bishkek SCO summit. 
MOSCOW 00002205  002 OF 002 
6.  (C) The GOR agrees with China that if the current 
financial dispute is resolved. 
"""

MODERN_HEADER = """VZCZCXRO5793
OO RUEHCN RUEHGH RUEHVC
DE RUEHBJ #2087/01 1501045
ZNY CCCCC ZZH
O 291045Z MAY 08
FM AMEMBASSY BEIJING
TO RUEHC/SECSTATE WASHDC IMMEDIATE 7613
INFO RUEHOO/CHINA POSTS COLLECTIVE
RUEHGH/AMCONSUL SHANGHAI PRIORITY 2222"""


def raw(body: str | None, header: str | None = None, **meta) -> RawCable:
    return RawCable(header=header, body=body, source={"path": "t", "format": "text"}, meta=meta)


def parse(body: str | None, header: str | None = None, **meta) -> dict:
    return build_record(raw(body, header, **meta))


# --------------------------------------------------------------------------- the record


def test_record_has_every_field_and_serialises() -> None:
    record = parse(SEED_BODY, SEED_HEADER, reference_id="07MOSCOW2205")
    assert list(record) == list(FIELDS)
    line = json.loads(to_json(record))
    assert line["reference_id"] == "07MOSCOW2205"
    for name, kind in FIELDS.items():
        value = record[name]
        expected = {"str": (str, type(None)), "list": list, "bool": bool, "dict": dict}[kind]
        assert isinstance(value, expected), name


def test_header_and_body_are_kept_unaltered() -> None:
    record = parse(SEED_BODY, SEED_HEADER)
    assert record["header"] == SEED_HEADER
    assert record["body"] == SEED_BODY
    assert record["source"] == {"path": "t", "format": "text"}


def test_no_content_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no cable content"):
        build_record(RawCable(header="  \n", body="", source={"path": "x.txt", "row": 3}))
    try:
        build_record(RawCable(header=None, body=None, source={"path": "x.csv", "row": 3}))
    except ParseError as err:
        assert err.message.startswith("x.csv:row 3: ")


def test_a_reference_id_alone_is_a_record() -> None:
    record = parse(None, None, reference_id="01VATICAN1261", created_date="2001-03-06")
    assert record["reference_id"] == "01VATICAN1261"
    assert record["paragraphs"] == []
    assert record["created"] == "2001-03-06T00:00"
    assert any("date only" in w for w in record["warnings"])


# --------------------------------------------------------------------------- identity


def test_reference_id_from_the_metadata_is_canonicalised() -> None:
    record = parse(SEED_BODY, reference_id="1974ATHENS02959")
    assert record["reference_id"] == "74ATHENS2959"
    assert record["origin_code"] == "ATHENS"
    assert "'1974ATHENS02959'" in record["warnings"][0]


def test_malformed_reference_id_is_kept_with_a_warning() -> None:
    record = parse("UNCLAS LONDON 002468\n", reference_id="09EFTOLONDON2468")
    assert record["reference_id"] == "09EFTOLONDON2468"
    assert record["warnings"] and "kept as published" in record["warnings"][0]
    record = parse("C O N F I D E N T I A L LIBREVILLE 001895\n", reference_id="7575LIBREVILLE1895")
    assert record["reference_id"] == "7575LIBREVILLE1895"
    assert record["origin_code"] == "LIBREVILLE"


def test_reference_id_from_the_banner_and_dtg() -> None:
    record = parse(SEED_BODY, SEED_HEADER)
    assert record["reference_id"] == "07MOSCOW2205"
    assert record["warnings"] == []  # the text states it: nothing to flag
    new_delhi = parse("C O N F I D E N T I A L NEW DELHI 003647 \n", "R 171357Z JUN 05\n")
    assert new_delhi["reference_id"] == "05NEWDELHI3647"


def test_reference_id_from_the_file_name_hint() -> None:
    body = "C O N F I D E N T I A L BRASILIA 002339 \n \nSIPDIS \n"
    record = parse(body, reference_id_hint="05BRASILIA2339")
    assert record["reference_id"] == "05BRASILIA2339"
    assert parse("just text", reference_id_hint=None)["warnings"] == ["reference_id: not found"]


def test_created_forms() -> None:
    assert parse(SEED_BODY, created="2007-05-14 03:19")["created"] == "2007-05-14T03:19"
    assert parse(SEED_BODY, created="2007-05-14T03:19")["created"] == "2007-05-14T03:19"
    assert parse(SEED_BODY, created="12/28/1966 18:48")["created"] == "1966-12-28T18:48"
    ruby = parse(SEED_BODY, created="Wed Oct 09 00:00:00 +0200 2002")
    assert ruby["created"] == "2002-10-09T00:00"
    bad = parse(SEED_BODY, created="yesterday")
    assert bad["created"] is None and "created: unrecognised date 'yesterday'" in bad["warnings"]
    assert parse(SEED_BODY, released="2011-08-30 01:44")["released"] == "2011-08-30T01:44"


def test_created_from_the_dtg_when_the_source_states_none() -> None:
    """The metadata wins; without it the DTG dates the cable; both are kept."""
    record = parse(SEED_BODY, SEED_HEADER)
    assert record["created"] == "2007-05-14T03:19"
    assert record["dtg"] == "140319Z MAY 07"
    old = parse("UNCLASSIFIED BUENOS AIRES 2481\n", "P R 281848Z DEC 66\n")
    assert old["created"] == "1966-12-28T18:48"
    meta_wins = parse(SEED_BODY, SEED_HEADER, created="2007-05-14 03:03")
    assert meta_wins["created"] == "2007-05-14T03:03" and meta_wins["dtg"] == "140319Z MAY 07"
    # a date-only source and a DTG of the same day: the DTG gives the time
    dated = parse(SEED_BODY, SEED_HEADER, created_date="2007-05-14")
    assert dated["created"] == "2007-05-14T03:19" and dated["warnings"][-1:] != [
        "created: the source states the date only; time set to 00:00"
    ]


def test_classification_from_the_metadata_or_the_banner() -> None:
    assert parse(SEED_BODY, classification="SECRET")["classification"] == "SECRET"
    assert parse(SEED_BODY)["classification"] == "CONFIDENTIAL"
    sbu = "UNCLAS GABORONE 000411 \n\nSIPDIS\n\nSENSITIVE BUT UNCLASSIFIED\n\nE.O. 12958: N/A\n"
    assert parse(sbu)["classification"] == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    noforn = "C O N F I D E N T I A L SECTION 01 OF 03 ROME 000878 \n \nNOFORN \nSIPDIS \n"
    assert parse(noforn)["classification"] == "CONFIDENTIAL//NOFORN"
    assert parse("S E C R E T STATE 085725\n")["classification"] == "SECRET"
    assert parse("LIMITED OFFICIAL USE STATE 097844\n")["classification"] == "LIMITED OFFICIAL USE"
    # no banner: the ZNY security line of the header
    assert parse("text", "ZNY SSSSS ZZH\nO 291045Z MAY 08\n")["classification"] == "SECRET"


def test_origin_from_metadata_sender_or_code() -> None:
    assert parse(SEED_BODY, origin="Embassy Moscow")["origin"] == "Embassy Moscow"
    record = parse("C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087\n", MODERN_HEADER)
    assert record["origin"] == "Embassy Beijing"
    assert record["origin_code"] == "BEIJING"
    # the FM line names the sender, even for a code whose name is only derived
    accra = parse("UNCLAS ACCRA 000123\n", "R 010101Z JAN 08\nFM AMEMBASSY ACCRA\n")
    assert accra["origin"] == "Embassy Accra"
    useu = parse("C O N F I D E N T I A L BRUSSELS 000537\n", "FM USEU BRUSSELS\n",
                 reference_id="09BRUSSELS537")
    assert useu["origin"] == "USEU Brussels" and useu["origin_code"] == "BRUSSELS"
    # from the code alone: only a name seen as a published Origin value
    assert parse("text", reference_id="09MOSCOW1")["origin"] == "Embassy Moscow"
    assert parse("text", reference_id="09ACCRA1")["origin"] is None
    assert parse("text", reference_id="09BRUSSELS1")["origin"] is None


# --------------------------------------------------------------------------- header


def test_transmission_header_fields() -> None:
    record = parse("C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087\n", MODERN_HEADER)
    assert record["dtg"] == "291045Z MAY 08"
    assert record["transmission_id"] == "RUEHBJ #2087/01 1501045"
    assert record["precedence"] == "IMMEDIATE"
    assert record["recipients"] == ["RUEHC/SECSTATE WASHDC IMMEDIATE 7613"]
    assert record["info_recipients"] == [
        "RUEHOO/CHINA POSTS COLLECTIVE", "RUEHGH/AMCONSUL SHANGHAI PRIORITY 2222"
    ]


def test_old_bare_dtg_header() -> None:
    header = """P R 281848Z DEC 66
FM AMEMBASSY BUENOS AIRES
TO SECSTATE WASHDC PRIORITY
INFO USCINCSO
CINCLANT
AMEMBASSY RIO DE JANEIRO"""
    record = parse("UNCLASSIFIED BUENOS AIRES 2481 \n", header)
    assert record["dtg"] == "281848Z DEC 66"
    assert record["precedence"] == "PRIORITY"  # the action precedence of "P R"
    assert record["recipients"] == ["SECSTATE WASHDC PRIORITY"]
    assert record["info_recipients"] == ["USCINCSO", "CINCLANT", "AMEMBASSY RIO DE JANEIRO"]
    assert record["transmission_id"] is None


def test_niact_immediate_and_flash() -> None:
    header = "O 020411Z AUG 90\nFM AMEMBASSY BAGHDAD\nTO SECSTATE WASHDC NIACT IMMEDIATE 4708\n"
    assert parse("S E C R E T BAGHDAD 04397\n", header)["precedence"] == "NIACT IMMEDIATE"
    assert parse("text", "Z 020411Z AUG 90\n")["precedence"] == "FLASH"
    assert parse("text", "RR RUEHWEB\n")["precedence"] == "ROUTINE"


def test_nara_header_skips_distribution_codes_and_takes_the_precedence_word() -> None:
    header = """This record is a partial extract of the original cable. The full text of the original cable is not available.

291359Z Nov 00


                           CONFIDENTIAL     PTQ1859

PAGE 01        HARARE  06677  01 OF 03  291400Z 
ACTION AF-00    

INFO  LOG-00   NP-00    AID-00   ACQ-00   CEA-01   CIAE-00  COME-00  
      CTME-00  DINT-00  DODE-00  DOTE-00  SRPP-00  DS-00    EB-00    
      SAS-00   SWCI-00    /012W
                  ------------------A54E38  291401Z /38    
FM AMEMBASSY HARARE
TO SECSTATE WASHDC IMMEDIATE 7738
INFO NSC WASHDC IMMEDIATE
AMEMBASSY NAIROBI"""
    record = parse("C O N F I D E N T I A L SECTION 01 OF 03 HARARE 006677 \n", header)
    assert record["dtg"] == "291359Z Nov 00"
    assert record["precedence"] == "IMMEDIATE"
    assert record["recipients"] == ["SECSTATE WASHDC IMMEDIATE 7738"]
    assert record["info_recipients"] == ["NSC WASHDC IMMEDIATE", "AMEMBASSY NAIROBI"]
    assert record["partial"] is True


def test_banner_glued_to_the_last_addressee_line() -> None:
    """alx texts concatenate the two <pre> blocks: ``AMCONSUL IZMIRUNCLAS SECTION ...``."""
    body = """R 061423Z DEC 89
FM AMEMBASSY ANKARA
TO SECSTATE WASHDC 9990
INFO AMCONSUL ADANA
AMCONSUL IZMIRUNCLAS SECTION 01 OF 02 ANKARA 17365 
 
E.O. 12356: N/A 
TAGS: PTER TU
SUBJECT: TURKEY: 1989 ANNUAL TERRORISM REPORT 
"""
    record = parse(body)
    assert record["info_recipients"] == ["AMCONSUL ADANA", "AMCONSUL IZMIR"]
    assert record["reference_id"] == "89ANKARA17365"
    assert record["classification"] == "UNCLASSIFIED"
    assert record["subject"] == "TURKEY: 1989 ANNUAL TERRORISM REPORT"


def test_plusd_dtg_with_a_space_before_z() -> None:
    record = parse("LIMITED OFFICIAL USE STATE 097844\n", "P R 221828 Z MAY 73\nFM SECSTATE WASHDC\n")
    assert record["dtg"] == "221828 Z MAY 73"
    assert record["created"] == "1973-05-22T18:28"
    assert record["origin"] == "Secretary of State"


# --------------------------------------------------------------------------- head of the body


def test_seed_head_fields() -> None:
    record = parse(SEED_BODY, SEED_HEADER)
    assert record["declassify_on"] == "2017-05-11"
    assert record["classified_by"] == "Ambassador William J. Burns"
    assert record["classification_reasons"] == ["1.4(b)", "1.4(d)"]
    assert record["precedence"] == "IMMEDIATE"
    assert record["transmission_id"] == "RUEHMO #2205/01 1340319"


@pytest.mark.parametrize(
    ("line", "reasons"),
    [
        ("Classified By: Ambassador William J. Burns.  Reasons 1,4 (B/D).", ["1.4(b)", "1.4(d)"]),
        ("Classified By: Amb. Mark Langdale, reasons 1.4 (b) and (d).", ["1.4(b)", "1.4(d)"]),
        ("CLASSIFIED BY AMBASSADOR TOM MCDONALD FOR REASONS 1.5 (B) AND (D).",
         ["1.5(b)", "1.5(d)"]),
        ("Classified By: DCM X per 1.5 (D).", ["1.5(d)"]),
        ("Classified By: Charge Robert O. Blake, Jr., for Reasons 1.4 (B, D)",
         ["1.4(b)", "1.4(d)"]),
        ("Classified By: A for reasons 1.4(b), 1.4(d)", ["1.4(b)", "1.4(d)"]),
        ("Classified By: A, reasons 1/4 (B), (D), (E), and (G)",
         ["1.4(b)", "1.4(d)", "1.4(e)", "1.4(g)"]),
        ("Classified By: A Reasons 1:4 b,d", ["1.4(b)", "1.4(d)"]),
        ("Classified By: A. Reasons 1.4. (b & d).", ["1.4(b)", "1.4(d)"]),
        ("Classified By: A for reasons 1.4 (b,d) and h", ["1.4(b)", "1.4(d)", "1.4(h)"]),
        ("CLASSIFIED BY: A, EXEC; REASON: 1.4(B), (D)", ["1.4(b)", "1.4(d)"]),
        ("Classified By: A for reasons b, d.", ["(b)", "(d)"]),
        ("Classified By: Derived from Multiple Sources", []),
    ],
)
def test_classification_reason_forms(line: str, reasons: list[str]) -> None:
    record = parse(f"C O N F I D E N T I A L STATE 000001\n\n{line}\n\n1. (C) Text.\n")
    assert record["classification_reasons"] == reasons


def test_classified_by_wrapped_over_lines() -> None:
    body = """C O N F I D E N T I A L SECTION 01 OF 04 BEIJING 002087

Classified By: Political Minister Counselor Aubrey Carlson. Reasons

1.4 (b) and (d).

1.(C) The U.S.-China Strategic Security Dialogue provides the opportunity.
"""
    record = parse(body)
    assert record["classified_by"] == "Political Minister Counselor Aubrey Carlson"
    assert record["classification_reasons"] == ["1.4(b)", "1.4(d)"]
    assert record["paragraphs"] == [
        {"number": "1", "marking": "C",
         "text": "The U.S.-China Strategic Security Dialogue provides the opportunity."}
    ]
    wrapped = parse("SECRET STATE 1\nClassified By: A B, reasons 1.4 \n(b) and (d) \n\n1. (S) x\n")
    assert wrapped["classification_reasons"] == ["1.4(b)", "1.4(d)"]
    assert parse("x\nClassified By: Charge Robert O. Blake, Jr., for Reasons 1.4 (B, D)\n")[
        "classified_by"
    ] == "Charge Robert O. Blake, Jr."
    assert parse("x\nCLASSIFIED BY NARA 09/02/2009\n")["classified_by"] == "NARA 09/02/2009"
    assert parse("x\nE.O. 12958: DECL: DECLASSIFIED BY NARA 09/02/2009\n")["classified_by"] is None


@pytest.mark.parametrize(
    ("line", "declassify_on"),
    [
        ("E.O. 12958: DECL: 05/11/2017", "2017-05-11"),
        ("EO 12958 DECL: 11/29/10", "2010-11-29"),
        ("E.O. 12958: DECL: 2020/01/29", "2020-01-29"),
        ("E.0. 12958: DECL:  8/12/2018", "2018-08-12"),
        ("E.O. 12065: GDS 8/12/85 (TOMSETH, VICTOR L.) OR-P", "1985-08-12"),
        ("E.O. 12958: N/A", None),
        ("E.O. 12356: DECL:OADR", None),
        ("E.O. 12958: DECL: 25X1", None),
        ("E.O. 12958: DECL: 1.6X1", None),
        ("E.O. 12958: DECL: TWENTY YEARS", None),
        ("E.O. 12958: AS AMENDED; DECLASSIFIED JUNE 21, 2006", None),
        ("E.O. 12958: DNG: CO 07/15/2015", None),  # a downgrade date, not declassification
        ("E. O. 11652:  N/ A", None),
    ],
)
def test_declassify_on_forms(line: str, declassify_on: str | None) -> None:
    assert parse(f"UNCLAS STATE 000001\n\n{line}\nTAGS: PREL\n")["declassify_on"] == declassify_on


def test_invalid_declassification_date_is_flagged() -> None:
    record = parse("UNCLAS STATE 000001\nE.O. 12958: DECL: 02/30/2015\n")
    assert record["declassify_on"] is None
    assert any("declassify_on: invalid date" in w for w in record["warnings"])


def test_flattened_head_on_one_line() -> None:
    """2011-04 05SANAA1352: the head elements run together without newlines."""
    body = (
        "Cable dated:2005-05-23T14:26:00\nS E C R E T SECTION 01 OF 02 SANAA 001352SIPDISE.O. "
        "12958: DECL: 05/21/2015TAGS: PREL PGOV PTER PINR KMCA KMPI\n\n1. (S/NF) Ambassador met "
        "informally with XXXXXXXXXXXX.\n\n2. (S/NF) Echoing what we hear.\n"
    )
    record = parse(body)
    assert record["declassify_on"] == "2015-05-21"
    assert record["tags"] == ["PREL", "PGOV", "PTER", "PINR", "KMCA", "KMPI"]
    assert [p["number"] for p in record["paragraphs"]] == ["1", "2"]
    assert record["paragraphs"][0]["marking"] == "S/NF"


def test_tags_forms() -> None:
    assert parse("x\nTAGS: PREL PGOV ECON UP RS\n")["tags"] == ["PREL", "PGOV", "ECON", "UP", "RS"]
    assert parse("x\nTAGS PGOV, PREL, ECON, PINR, ZI, SA\n")["tags"] == [
        "PGOV", "PREL", "ECON", "PINR", "ZI", "SA"
    ]
    pdf = "x\nE.O. 12958: DECL: 10/30/2010 \nTAGS: \nPREL\n \nXF\n \nTC\nSUBJECT:  SULTAN BIN ZAYID\n"
    assert parse(pdf)["tags"] == ["PREL", "XF", "TC"]
    # the site links each word: a multi-word tag becomes words, as on the site
    assert parse("x\nTAGS: PREL KMPI DOMESTIC POLITICS\n")["tags"][-2:] == ["DOMESTIC", "POLITICS"]
    assert parse("x", tags=["PREL", "IT", "PREL"])["tags"] == ["PREL", "IT"]


def test_subject_forms() -> None:
    multi = """UNCLAS SAN JOSE 002808 
SUBJECT: FOREIGN MINISTRY REQUESTS INVESTIGATION INTO 
SHOOTING OF COSTA RICAN NATIONAL 
 
 
1. On Thursday, December 8, post received a letter.
"""
    assert parse(multi)["subject"] == (
        "FOREIGN MINISTRY REQUESTS INVESTIGATION INTO SHOOTING OF COSTA RICAN NATIONAL"
    )
    paged = """C O N F I D E N T I A L SECTION 01 OF 03 HARARE 006677 
SUBJECT: ASSISTANT SECRETARY MEETS WITH ZIMBABWE 
 CONFIDENTIAL
PAGE 02 HARARE 06677 01 OF 03 291400Z OPPOSITION LEADER
REFTEL: HARARE 6584
"""
    record = parse(paged)
    assert record["subject"] == "ASSISTANT SECRETARY MEETS WITH ZIMBABWE OPPOSITION LEADER"
    assert record["references"] == ["00HARARE6584"] or record["references"] == []
    after_blank = "UNCLAS CAIRO 000213 \nSUBJECT:\n\nINVESTMENT SCANDAL ADDS TO STOCK MARKET WOES\n"
    assert parse(after_blank)["subject"] == "INVESTMENT SCANDAL ADDS TO STOCK MARKET WOES"
    flat = "SUBJECT: GSP: FIRST US-BRAZIL IPR WORKING GROUP MEETING Classified By: Economic Officer"
    assert parse("x\n" + flat)["subject"] == "GSP: FIRST US-BRAZIL IPR WORKING GROUP MEETING"
    assert parse("x\nSUBJECT: X", subject="Given")["subject"] == "Given"


def test_references_from_the_brief_example() -> None:
    body = ("C O N F I D E N T I A L MOSCOW 009999\nSUBJECT: X\n\n"
            "REF: A. MOSCOW 2205 B. 06 STATE 12345 C. 07 MOSCOW 1234 (NOTAL)\n\n1. (C) Text.\n")
    record = parse(body, reference_id="07MOSCOW9999")
    assert record["references_raw"] == [
        "A. MOSCOW 2205", "B. 06 STATE 12345", "C. 07 MOSCOW 1234 (NOTAL)"
    ]
    assert record["references"] == ["07MOSCOW2205", "06STATE12345", "07MOSCOW1234"]


def test_references_order_dedup_and_no_self_reference() -> None:
    body = ("UNCLAS MOSCOW 002205\nREF: A. MOSCOW 2205 \n     B. SECSTATE 71981 (NOTAL) \n"
            "     C. 07 MOSCOW 2205 \n     D. STATE 71981\n\nClassified By: x\n")
    record = parse(body, reference_id="07MOSCOW2205")
    assert record["references"] == ["07STATE71981"]
    assert len(record["references_raw"]) == 4


@pytest.mark.parametrize(
    ("ref_line", "citing", "references"),
    [
        ("REF: STATE 106206 CIRCULAR; STATE CA-3400 NOV 2, 1966", "66BUENOSAIRES2481",
         ["66STATE106206"]),
        ("REF: TEHRAN 1091: TEHRAN 263: MOSCOW 1603", "72TEHRAN1164",
         ["72TEHRAN1091", "72TEHRAN263", "72MOSCOW1603"]),
        ("REF: (A) SAO PAULO 355; \n(B) SAO PAULO 350; \n(D) 05 SAO PAULO 1181; ", "06SAOPAULO400",
         ["06SAOPAULO355", "06SAOPAULO350", "05SAOPAULO1181"]),
        ("REF: A. A) 2007 SAN JOSE 2070 AND PREVIOUS \n \n     B. B) SAN JOSE-WHA/CEN EMAIL",
         "08SANJOSE1", ["07SANJOSE2070"]),
        ("REF: A) Brasilia 1215, B)Sao Paulo 0031", "08BRASILIA1224",
         ["08BRASILIA1215", "08SAOPAULO31"]),
        ("REFTEL: HARARE 6584", "00HARARE6677", ["00HARARE6584"]),
        ("REF: A. 2008 STATE 81854 B. Td-314/011589-09", "09NAIROBI1830", ["08STATE81854"]),
        ("REF: 07MOSCOW1234", "08MOSCOW1", ["07MOSCOW1234"]),
        ("REF: IIR 6-849-9075-10", "10TELAVIV414", []),
    ],
)
def test_reference_forms(ref_line: str, citing: str, references: list[str]) -> None:
    body = f"UNCLAS STATE 000001\nSUBJECT: X\n\n{ref_line}\n\n1. (U) Text.\n"
    assert parse(body, reference_id=citing)["references"] == references


def test_references_from_the_source_when_the_text_has_none() -> None:
    record = parse("UNCLAS X 1\n", reference_id="66BUENOSAIRES2481", references_csv=["66STATE106206"])
    assert record["references"] == ["66STATE106206"]


def test_caveats() -> None:
    body = """C O N F I D E N T I A L MOSCOW 000468 
 
SIPDIS 
 
SENSITIVE 
SIPDIS 
 
DEPT FOR EUR/RUS (ROGER SMITH) SENSITIVE MATTERS
E.O. 12958: DECL: 02/02/2017 
TAGS: PINR PGOV RS
SUBJECT: BIO NOTE
1. (C) SIPDIS appears in the text too; NOFORN as well.
"""
    assert parse(body)["caveats"] == ["SIPDIS", "SENSITIVE"]
    spaced = "S E C R E T STATE 000001\n\nN O F O R N\nS I P D I S\nE.O. 12958: DECL: 1/1/2019\n"
    assert parse(spaced)["caveats"] == ["NOFORN", "SIPDIS"]
    banner = "S E C R E T SECTION 01 OF 03 STATE 086156 NOFORN, SIPDIS E.O. 12958: DECL: 25X1\n"
    assert parse(banner)["caveats"] == ["NOFORN", "SIPDIS"]
    assert parse("UNCLAS X 1\n\nSENSITIVE BUT UNCLASSIFIED\n\nE.O. 12958: N/A\n")["caveats"] == [
        "SBU"
    ]


# --------------------------------------------------------------------------- paragraphs


def test_seed_paragraphs_and_page_break() -> None:
    record = parse(SEED_BODY, SEED_HEADER)
    assert [(p["number"], p["marking"]) for p in record["paragraphs"]] == [
        ("1", "C"), ("2", "C"), ("6", "C")
    ]
    assert record["paragraphs"][1]["text"].endswith("the August Bishkek SCO summit.")
    assert "MOSCOW 00002205" not in record["paragraphs"][1]["text"]
    assert record["summary"] == (
        'In a May 10 meeting with the Ambassador, DFM Losyukov promised "no surprises" at the '
        "Bishkek Shanghai Cooperation Organization summit."
    )


def test_page_break_inside_a_paragraph_does_not_split_it() -> None:
    body = """UNCLAS MADRID 000552 
1. (SBU) The first half of the 
MADRID 00000552  002.2 OF 011 
sentence goes on here.
2. (U) Next.
"""
    record = parse(body)
    # line breaks kept, the spaces that end lines dropped
    assert record["paragraphs"][0]["text"] == "The first half of the\nsentence goes on here."
    reflowed = ("C O N F I D E N T I A L BEIJING 002087\n\n5.(C) The PLA views them as "
                "more BEIJING 00002087 002 OF 004 functionally oriented.\n\n6.(C) Next.\n")
    record = parse(reflowed)
    assert record["paragraphs"][0]["text"] == "The PLA views them as more functionally oriented."
    old = ("LIMITED OFFICIAL USE ATHENS 2959\n\n1. ARE PROBABLY DETAINED BECAUSE OF THEIR\n"
           "LIMITED OFFICIAL USE\n\nLIMITED OFFICIAL USE\n\nPAGE 02  ATHENS 02959  171944Z\n\n"
           "ACKNOWLEDGED COMMUNIST PARTY AFFILIATIONS.\nTASCA\n")
    record = parse(old)
    assert record["paragraphs"][0]["text"] == (
        "ARE PROBABLY DETAINED BECAUSE OF THEIR\nACKNOWLEDGED COMMUNIST PARTY AFFILIATIONS."
    )
    assert record["signers"] == ["TASCA"]
    assert record["body"] == old  # the published text is not touched


def test_paragraph_number_and_marking_forms() -> None:
    body = """S E C R E T BAGHDAD 04397

1. (S-ENTIRE TEXT)

2. WE HAVE TRIED REPEATEDLY.
3.(C//NF) Marked without a space.
4.  (sbu)  Lower-case marking.
5. (A) Not a marking: the text keeps it.
  A. (S//NF) A lettered subparagraph stays in its paragraph.
  1. A numbered list item stays too.
6.. (U) Doubled dot.
"""
    paragraphs = parse(body)["paragraphs"]
    assert [(p["number"], p["marking"]) for p in paragraphs] == [
        ("1", "S-ENTIRE TEXT"), ("2", None), ("3", "C//NF"), ("4", "SBU"), ("5", None), ("6", "U")
    ]
    assert paragraphs[4]["text"].startswith("(A) Not a marking")
    assert "A. (S//NF) A lettered subparagraph" in paragraphs[4]["text"]
    assert "1. A numbered list item" in paragraphs[4]["text"]


def test_text_between_head_and_first_paragraph_is_an_unnumbered_paragraph() -> None:
    body = """C O N F I D E N T I A L MANAMA 000126 
REF: STATE 18802 
 
Classified By: Ambassador Adam Ereli for reasons 1.4 (b) and (d). (C) Poloff discussed reftel points.
"""
    record = parse(body)
    assert record["classification_reasons"] == ["1.4(b)", "1.4(d)"]
    assert record["paragraphs"] == [
        {"number": None, "marking": "C", "text": "Poloff discussed reftel points."}
    ]


def test_paragraphs_run_together_on_one_line() -> None:
    body = ("C O N F I D E N T I A L TRIPOLI 000577 \nSUBJECT: QADHAFI FOUNDATION  REF: A) TRIPOLI"
            " 182, B) TRIPOLI 320  CLASSIFIED BY: John T. Godfrey, CDA. REASON: 1.4 (b), (d) 1. (C)"
            "  Summary: An ongoing dialogue.  End Summary.  2. (U)  Saleh provided an update."
            "  GODFREY")
    record = parse(body, reference_id="08TRIPOLI577")
    assert record["subject"] == "QADHAFI FOUNDATION"
    assert record["references"] == ["08TRIPOLI182", "08TRIPOLI320"]
    assert record["classification_reasons"] == ["1.4(b)", "1.4(d)"]
    assert [(p["number"], p["marking"]) for p in record["paragraphs"]] == [("1", "C"), ("2", "U")]
    assert record["summary"] == "An ongoing dialogue."


# --------------------------------------------------------------------------- summary


@pytest.mark.parametrize(
    ("paragraphs", "summary"),
    [
        ("1. (C) Summary: A short one. End Summary.\n2. (C) Body.\n", "A short one."),
        ("1. (SBU) SUMMARY AND COMMENT: A. B. END SUMMARY AND COMMENT.\n", "A. B."),
        ("1. (C) Summary: first part.\n2. (C) second part. End summary.\n3. (C) Rest.\n",
         "first part.\n\nsecond part."),
        ("1. (C) Summary: no end marker here.\n2. (C) Body.\n", "no end marker here."),
        ("Summary\n-------\n\n1. (C) Under a heading.\n\n2. (C) Body.\n", "Under a heading."),
        ("1. (C) Introduction and Summary. A visit.\n2. (C) Body.\n", "A visit."),
        ("1. (S/NF) Unlabelled text. End Summary.\n2. (S/NF) Body.\n", "Unlabelled text."),
        ("1. (C) No summary at all.\n2. (C) Body.\n", None),
    ],
)
def test_summary_forms(paragraphs: str, summary: str | None) -> None:
    assert parse("C O N F I D E N T I A L STATE 000001\n\n" + paragraphs)["summary"] == summary


# --------------------------------------------------------------------------- signers


@pytest.mark.parametrize(
    ("ending", "signers"),
    [
        ("text.\nBURNS\n", ["BURNS"]),
        ("text.\nvan Voorst\n", ["van Voorst"]),
        ("text.\nRICE/BOLTON\n", ["RICE", "BOLTON"]),
        ("text.\nLAINGEN \n \nCONFIDENTIAL\n", ["LAINGEN"]),
        ("text.\nHALL NNNN 2004ROME02926 - Classification: CONFIDENTIAL\n", ["HALL"]),
        ("text.\nGUTIERREZ \n\n\n=======================CABLE ENDS============================\n\n\"",
         ["GUTIERREZ"]),
        ("text.\nVisit Rome's Classified Website: http://www.state.sgov.gov/p/eur/rome\n", []),
        ("WEDNESDAY WITH MINISTER FOREIGN AFFAIRS.    PORTER\n\n\nLIMITED OFFICIAL USE\n", ["PORTER"]),
        ("text.\nEnd Comment.\n", []),
        ("and offered to sit down with the Ambassador", []),
    ],
)
def test_signers(ending: str, signers: list[str]) -> None:
    record = parse("UNCLAS STATE 000001\n\n1. (U) Some " + ending)
    assert record["signers"] == signers
    if signers:
        assert signers[0] not in record["paragraphs"][-1]["text"].split()


def test_partial_flag() -> None:
    notice = ("This record is a partial extract of the original cable. "
              "The full text of the original cable is not available.")
    assert parse(SEED_BODY, notice)["partial"] is True
    assert parse(SEED_BODY, partial=True)["partial"] is True
    assert parse(SEED_BODY)["partial"] is False
    assert parse(SEED_BODY, media_urls=["http://www.nytimes.com/x"])["media_urls"] == [
        "http://www.nytimes.com/x"
    ]


# --------------------------------------------------------------------------- robustness


ADVERSARIAL = {
    "ref": "UNCLAS STATE 001234\nSUBJECT: X\n" + "REF: A. " * 130_000,
    "markings": "(C) (C) " * 130_000,
    "one_line": "A" * 10_000_000,
    "newlines": "\n" * 1_000_000,
    "paragraphs": "".join(f"{i}. (C) x\n" for i in range(1, 60_000)),
    "page_breaks": "MOSCOW 00002205  002 OF 002\n" * 40_000,
    "of": " OF 002" * 150_000,
    "page": "PAGE 02 " * 130_000,
    "classified": "Classified by: reasons 1.4 (b) and " * 30_000,
    "banner": "S E C R E T " + "A " * 500_000 + "123456",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_give_a_record(name: str) -> None:
    """Timed by bench/parse.py (adversarial section); here: a record, no other error."""
    text = ADVERSARIAL[name]
    if not text.strip():
        with pytest.raises(ParseError):
            build_record(raw(text, text))
        return
    for header, body in ((None, text), (text, text)):
        record = build_record(raw(body, header))
        assert record["body"] == body
        assert len(record["paragraphs"]) <= 2_000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.one_of(st.none(), st.text()), body=st.one_of(st.none(), st.text()),
       meta=st.dictionaries(st.sampled_from(["reference_id", "created", "released", "tags",
                                             "partial", "classification", "subject",
                                             "references_csv", "created_date"]),
                            st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text()))))
def test_arbitrary_text_gives_a_record_or_a_parse_error(header, body, meta) -> None:
    try:
        record = build_record(RawCable(header, body, {"path": "h"}, meta))
    except ParseError:
        return
    assert list(record) == list(FIELDS)
    json.dumps(record)


TELEGRAM_PIECES = [
    "C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002205 ", "E.O. 12958: DECL: 05/11/2017 ",
    "Classified By: Ambassador William J. Burns.  Reasons 1,4 (B/D). ", "TAGS: PREL RS",
    "SUBJECT: X", "REF: A. MOSCOW 2205 B. 06 STATE 12345", "1.  (C) Summary.  In a May 10",
    "End summary. ", "MOSCOW 00002205  002 OF 002 ", "PAGE 02 HARARE 06677 01 OF 03 291400Z",
    "O 140319Z MAY 07", "DE RUEHMO #2205/01 1340319", "TO RUEHC/SECSTATE WASHDC PRIORITY 4785",
    "FM AMEMBASSY MOSCOW", "INFO ", "BURNS", "", " ", "¶", "(S//NF)", "2.", "SIPDIS", "NOFORN",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TELEGRAM_PIECES) | st.text(max_size=20), max_size=40),
       st.sampled_from(["\n", " ", "", "\r\n"]))
def test_shuffled_telegram_lines_give_a_record(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    try:
        record = build_record(RawCable(text[: len(text) // 3], text, {"path": "h"}, {}))
    except ParseError:
        return
    for paragraph in record["paragraphs"]:
        assert set(paragraph) == {"number", "marking", "text"}
