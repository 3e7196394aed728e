"""Real cables of ../shared/corpus (and the seed page) checked field by field.

Every expected value below was written by reading the cable's published text
(header and body as the source shows them), not by running the parser. Where
the published text itself is odd, the comment says so. Paragraphs are checked
by their (number, marking) sequence and by how chosen paragraphs begin and end.
"""

from __future__ import annotations

import pytest
from conftest import CORPUS

from cablegate import parse_path

HTML04 = "cablegate_html/2011-04_avilaroman/cable"

# reference -> (path relative to the corpus, CSV row or None, expected fields)
CABLES: dict[str, tuple[str, int | None, dict]] = {
    "66BUENOSAIRES2481-csv": ("cables_csv/cables_sample.csv", 1, {
        "reference_id": "66BUENOSAIRES2481",
        "created": "1966-12-28T18:48",
        "released": None,
        "classification": "UNCLASSIFIED",
        "origin": "Embassy Buenos Aires",
        "origin_code": "BUENOSAIRES",
        "subject": "EXTENDED NATIONAL JURISDICTIONS OVER HIGH SEAS",
        "tags": ["EFIS", "PBTS", "AR"],
        "references": ["66STATE106206"],
        "references_raw": ["STATE 106206 CIRCULAR", "STATE CA-3400 NOV 2, 1966"],
        "recipients": ["SECSTATE WASHDC PRIORITY"],
        "info_recipients": [
            "USCINCSO", "CINCLANT", "AMEMBASSY RIO DE JANEIRO", "AMEMBASSY SANTIAGO",
            "AMEMBASSY MONTEVIDEO", "AMEMBASSY QUITO", "AMEMBASSY LIMA", "AMEMBASSY MEXICO",
            "AMEMBASSY OTTAWA", "AMEMBASSY LONDON", "STATE GRNC",
        ],
        "signers": ["SACCIO"],
        "classified_by": None,
        "classification_reasons": [],
        # "DECL: DECLASSIFIED BY NARA 09/02/2009" records a release, not a date to declassify on
        "declassify_on": None,
        "precedence": "PRIORITY",  # "P R": priority for action, routine for info
        "dtg": "281848Z DEC 66",
        "transmission_id": None,
        "caveats": [],
        "summary": None,
        "partial": False,
        "paragraph_heads": [(str(n), None) for n in range(1, 9)],
        "paragraph_text": {0: ("PRESS REPORTS AND VARIETY EMBASSY", "FALKLAND ISLANDS."),
                           -1: ("IF AUTHORIZED, ENVISAGE TWO-STEP", "MOST LIKELY TO SUCCEED.")},
    }),
    "72TEHRAN1164-csv": ("cables_csv/cables_sample.csv", 2, {
        "reference_id": "72TEHRAN1164",
        "created": "1972-02-25T09:30",
        "classification": "UNCLASSIFIED",
        "origin": "Embassy Tehran",
        "subject": "ACCELERATION OF F-4ES FOR IRAN",
        "tags": ["MASS", "MARR", "IR"],
        # no year written: the citing cable's year (cablemap's convention)
        "references": ["72TEHRAN1091", "72TEHRAN263", "72MOSCOW1603"],
        "references_raw": ["TEHRAN 1091: TEHRAN 263: MOSCOW 1603"],
        "recipients": ["SECSTATE WASHDC 7561"],
        "info_recipients": ["SECDEF", "EUCOM", "CSAF"],
        "signers": ["HECK"],
        "declassify_on": None,
        "precedence": "ROUTINE",
        "dtg": "250930Z FEB 72",
        "summary_starts": "GENERAL AZIMI, MINISTER OF WAR, ON INSTRUCTION OF SHAH",
        "summary_ends": "BECAUSE HE REGARDS US AS MOST DEPENDABLE FRIEND.",
        "paragraph_heads": [(None, None)] * 4 + [(str(n), None) for n in range(1, 9)],
        "paragraph_text": {0: ("COUNTRY TEAM. MESSAGE", "COUNTRY TEAM. MESSAGE"),
                           3: ("ACTION REQUESTED: COUNTRY TEAM RECOMMENDS", "MAY BE AVAILABLE.")},
    }),
    "79TEHRAN8980": (f"{HTML04}/1979/08/79TEHRAN8980.html", None, {
        "reference_id": "79TEHRAN8980",
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Tehran",
        "subject": "NEGOTIATIONS",
        "tags": ["PEPR", "IR"],
        "recipients": ["SECSTATE WASHDC 3182"],
        "info_recipients": [],
        "signers": ["LAINGEN"],  # then a trailing "CONFIDENTIAL" line
        "declassify_on": "1985-08-12",  # "E.O. 12065: GDS 8/12/85 (TOMSETH, VICTOR L.)"
        "classified_by": None,
        "precedence": "ROUTINE",
        "dtg": "130458Z AUG 79",
        "summary": None,
        # the author numbered two paragraphs "6."
        "paragraph_heads": [("1", "C - ENTIRE TEXT")] + [
            (n, None) for n in ("2", "3", "4", "5", "6", "6", "7")],
        "paragraph_text": {5: ("THE PERSIAN PROCLIVITY FOR ASSUMING", "BY ACTION AND RESULTS."),
                           6: ("FINALLY, THERE ARE THE PERSIAN CONCEPTS", "OFFERED TODAY?")},
    }),
    "90BAGHDAD4397": (f"{HTML04}/1990/08/90BAGHDAD4397.html", None, {
        "classification": "SECRET",
        "origin": "Embassy Baghdad",
        "subject": "IRAQI INCURSION ACROSS KUWAITI BORDER",
        "tags": ["PREL", "IZ", "KU", "AS"],
        "references": ["90STATE253201"],
        # "(C)" is the third item's letter here, not a CONFIDENTIAL marking
        "references_raw": ["(A) STATE 253201", "(B) WILSON/MACK TELECON",
                           "(C) WILSON/CHARLES TELECON"],
        "recipients": [
            "SECSTATE WASHDC NIACT IMMEDIATE 4708", "AMEMBASSY KUWAIT NIACT IMMEDIATE",
            "AMEMBASSY RIYADH IMMEDIATE", "AMEMBASSY CAIRO IMMEDIATE", "AMEMBASSY DOHA IMMEDIATE",
            "AMEMBASSY ABU DHABI IMMEDIATE", "AMEMBASSY MANAMA IMMEDIATE",
            "AMEMBASSY AMMAN IMMEDIATE", "AMEMBASSY MUSCAT IMMEDIATE",
            "AMEMBASSY DAMASCUS IMMEDIATE",
        ],
        "info_recipients": [],
        "precedence": "NIACT IMMEDIATE",
        "dtg": "020411Z AUG 90",
        "declassify_on": None,  # E.O. 12356: DECL:OADR
        "signers": ["WILSON"],
        "paragraph_heads": [("1", "S-ENTIRE TEXT"), ("2", None), ("3", None), ("4", None)],
    }),
    "00HARARE6677": (f"{HTML04}/2000/11/00HARARE6677.html", None, {
        "partial": True,
        "classification": "CONFIDENTIAL",
        "subject": "ASSISTANT SECRETARY MEETS WITH ZIMBABWE OPPOSITION LEADER",  # across PAGE 02
        "tags": ["PGOV", "PREL", "ECON", "PINR", "ZI", "SA"],
        "references": ["00HARARE6584"],  # "REFTEL: HARARE 6584"
        "recipients": ["SECSTATE WASHDC IMMEDIATE 7738"],
        # the "INFO LOG-00 NP-00 ..." lines above are distribution codes, not addressees
        "info_recipients": ["NSC WASHDC IMMEDIATE", "SOUTHERN AFRICAN DEVELOPMENT COMMUNITY",
                            "AMEMBASSY NAIROBI"],
        "precedence": "IMMEDIATE",  # no prosign on "291359Z Nov 00": the TO line's word
        "dtg": "291359Z Nov 00",
        "declassify_on": "2010-11-29",  # "EO 12958 DECL: 11/29/10"
        "classified_by": "AMBASSADOR TOM MCDONALD",
        "classification_reasons": ["1.5(b)", "1.5(d)"],
        "caveats": ["SIPDIS"],
        "signers": ["MCDONALD"],
        "summary_starts": "ASSISTANT SECRETARY SUSAN E. RICE MET MOVEMENT FOR DEMOCRATIC CHANGE",
        "summary_ends": "REGIONAL LEADERS TO FORCE HIM OUT.",
        "paragraph_heads": [(str(n), "C") for n in range(1, 12)] + [("12", "U")],
        "paragraph_text": {-1: ("A/S RICE HAS CLEARED THIS MESSAGE.",
                                "A/S RICE HAS CLEARED THIS MESSAGE.")},
    }),
    "02VATICAN819": (f"{HTML04}/2002/02/02VATICAN819.html", None, {
        "partial": True,
        "classification": "UNCLASSIFIED",
        "subject": "VATICAN ARCHIVES - POPE ORDERS PARTIAL OPENING FOR NAZI GERMANY AND WORLD "
                   "WAR II DOCUMENTS",
        "tags": ["PREL", "GM", "VT"],
        "declassify_on": None,  # EO 12958 N/A
        "caveats": ["SIPDIS"],
        "recipients": [],
        "dtg": None,
        "signers": ["NICHOLSON"],  # "... END COMMENT. NICHOLSON"
        "paragraph_heads": [("1", None), ("2", None), ("3", None), ("4", None)],
        "paragraph_text": {3: ("COMMENT: THE DECISION TO PARTIALLY OPEN", "END COMMENT.")},
        "paragraph_lacks": ["PAGE 02", "PAGE 03", "190632Z"],
    }),
    "05NEWDELHI3647": (f"{HTML04}/2005/05/05NEWDELHI3647.html", None, {
        "partial": True,
        "header": None,
        "classification": "CONFIDENTIAL",
        "subject": "GOI RENEWS CALL FOR IC-814 INFO AS TRIAL NEARS END",
        "tags": ["PREL", "PTER", "IN", "PK", "AF", "GOI"],
        "references": ["05NEWDELHI2266", "04NEWDELHI5630", "04NEWDELHI5387", "03NEWDELHI3904",
                       "02STATE139001"],
        "references_raw": ["A. NEW DELHI 2266", "B. 04 NEW DELHI 5630", "C. 04 NEW DELHI 5387",
                           "D. 03 NEW DELHI 3904", "E. 02 STATE 139001"],
        "classified_by": "Charge Robert O. Blake, Jr.",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "declassify_on": "2015-05-11",
        "signers": ["BLAKE"],
        "summary": None,
        "paragraph_heads": [("1", "U")] + [(str(n), "C") for n in range(2, 7)] + [("7", "U")],
        "paragraph_text": {-1: ("Minimize considered.", "Minimize considered.")},
    }),
    "08BEIJING2087": (f"{HTML04}/2008/05/08BEIJING2087.html", None, {
        "origin": "Embassy Beijing",
        "subject": "SCENESETTER FOR JUNE 4 SECURITY DIALOGUE",
        "tags": ["PREL", "PTER", "PARM", "PGOV", "CH"],
        "recipients": ["RUEHC/SECSTATE WASHDC IMMEDIATE 7613"],
        "info_recipients": ["RUEHOO/CHINA POSTS COLLECTIVE"],
        "transmission_id": "RUEHBJ #2087/01 1501045",
        "dtg": "291045Z MAY 08",
        "precedence": "IMMEDIATE",
        # "Reasons" and "1.4 (b) and (d)." are on separate lines, a blank line between
        "classified_by": "Political Minister Counselor Aubrey Carlson",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "declassify_on": "2018-05-29",
        "caveats": ["SIPDIS"],
        "signers": ["PICCUTA"],
        "summary": None,
        "paragraph_heads": [(str(n), "C") for n in range(1, 17)],
        # the reflowed page carries "BEIJING 00002087 002 OF 004" inside paragraph 5
        "paragraph_text": {4: ("These recent positive developments", "during the Olympics.")},
        "paragraph_contains": {4: "as more functionally oriented"},
        "paragraph_lacks": ["00002087"],
    }),
    "09ROME878": (f"{HTML04}/2009/07/09ROME878.html", None, {
        "classification": "CONFIDENTIAL//NOFORN",
        "subject": "ECONOMIC DEVELOPMENT MINISTER SCAJOLA'S U.S. VISIT TO STRESS NUCLEAR ENERGY "
                   "AND OTHER COMMERCIAL COLLABORATION",
        # the page cuts the head short ("USTR FOR A...") before E.O. and TAGS
        "tags": [],
        "declassify_on": None,
        "references": ["09ROME815", "09ROME283", "09ROME207", "08ROME1577", "08ROME1191"],
        "references_raw": ["A. ROME 815", "B. ROME 283", "C. ROME 207", "D. 08 ROME 1577",
                           "E. 08 ROME 1191"],
        "caveats": ["NOFORN", "SIPDIS"],
        "classified_by": "CDA Elizabeth Dibble",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "dtg": "301545Z JUL 09",  # "P 301545Z JUL 09 ZDK"
        "precedence": "PRIORITY",
        "transmission_id": "RUEHRO #0878/01 2111545",
        "recipients": ["RUEHC/SECSTATE WASHDC PRIORITY 2472"],
        "signers": ["DIBBLE"],
        "summary_starts": "Economic Development Minister Claudio Scajola plans to visit the U.S.",
        "summary_ends": "as Italy's nuclear restart gets underway.",
        "paragraph_heads": [(str(n), "C/NF") for n in range(1, 6)] + [("6", "SBU")] + [
            (str(n), "C/NF") for n in range(7, 10)],
    }),
    "08OTTAWA918": (f"{HTML04}/2008/07/08OTTAWA918.html", None, {
        "subject": "COUNSELOR, CSIS DIRECTOR DISCUSS CT THREATS, PAKISTAN, AFGHANISTAN, IRAN",
        "tags": ["PREL", "PTER", "MOPS", "IR", "PK", "AF", "CA"],  # "TAGS PREL, PTER, ..."
        "references": ["08OTTAWA360", "08OTTAWA808", "08OTTAWA850", "08OTTAWA878"],
        "caveats": ["CORRECTED COPY", "NOFORN", "SIPDIS"],
        "declassify_on": "2018-07-09",
        "classified_by": "PolMinCouns Scott Bellard",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "recipients": ["RUEHC/SECSTATE WASHDC IMMEDIATE 8157"],
        "info_recipients_first_last": ("RUCNCAN/ALL CANADIAN POSTS COLLECTIVE PRIORITY",
                                       "RHMFISS/HQ USNORTHCOM PRIORITY", 12),
        "signers": ["WILKINS"],
        "paragraph_text": {-1: ("Dr. Cohen has cleared this message.",
                                "Dr. Cohen has cleared this message.")},
    }),
    "09PARTO41305": (f"{HTML04}/2009/04/09PARTO41305.html", None, {
        "origin": "US Delegation, Secretary",
        "origin_code": "PARTO",
        "classification": "SECRET",
        "subject": "Secretary Clinton's March 31, 2009 conversation with Dutch FM Verhagen",
        "tags": ["OVIP", "PREL", "NL", "AF", "PHUM", "RU", "NATO"],
        "transmission_id": "RUCNAI #0005/01 1031934",
        "recipients": ["RUEHTC/AMEMBASSY THE HAGUE IMMEDIATE"],
        "info_recipients": ["RUEHC/SECSTATE WASHDC IMMEDIATE", "RUEHBUL/AMEMBASSY KABUL IMMEDIATE",
                            "RUEHZG/NATO EU COLLECTIVE IMMEDIATE",
                            "RUEHMO/AMEMBASSY MOSCOW IMMEDIATE",
                            "RUEHTV/AMEMBASSY TEL AVIV IMMEDIATE"],
        "declassify_on": "2019-03-31",
        # the page shows the head twice, the first Classified By cut short ("...")
        "classified_by": "Paul Wohlers, Deputy Executive Secretary, S/ES, Department of State",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["CLINTON"],
        "summary_starts": "In a cordial meeting, the Secretary and Dutch FM Verhagen",
        "summary_ends": "founding of the first Dutch colony.",
    }),
    "09EFTOLONDON2468": (f"{HTML04}/2009/11/09EFTOLONDON2468.html", None, {
        "reference_id": "09EFTOLONDON2468",  # malformed as published: kept, flagged
        "warnings_contain": "unknown origin code",
        "origin": "Embassy London",
        "origin_code": "LONDON",  # from the FM line, the ID's letters being no code
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "caveats": ["EFTO", "NOFORN", "SIPDIS"],  # "UNCLAS E F T O LONDON 002468"
        "tags": ["PHUM", "XD", "CE", "UK", "PREF"],
        "recipients": ["RUEHLM/AMEMBASSY COLOMBO 0175", "RUEHC/SECSTATE WASHDC 3863"],
        "info_recipients": ["RUEHNE/AMEMBASSY NEW DELHI 0959"],
        "declassify_on": None,
        "classified_by": "Political Counselor Robin Quinville",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["LeBaron"],
        "paragraph_heads": [("1", "SBU/NF"), ("2", "SBU/NF"), ("3", "SBU"), ("4", "SBU")],
    }),
    "09STATE15113": (f"{HTML04}/2009/02/09STATE15113.html", None, {
        "classification": "SECRET//NOFORN",
        "origin": "Secretary of State",
        "caveats": ["NOFORN"],  # "NOFORN, NOT FOR INTERNET DISTRIBUTION"
        "declassify_on": "2019-01-29",
        "tags": ["PTER", "PGOV", "ASEC", "EFIN", "ENRG", "KCIP"],  # written "TAG PTER, ..."
        "subject": "REQUEST FOR INFORMATION:CRITICAL FOREIGN DEPENDENCIES (CRITICAL "
                   "INFRASTRUCTURE AND KEY RESOURCES LOCATED ABROAD)",
        "references": ["09STATE6461"],
        "classified_by": "S/CT DAS, Susan F. Burk",
        "classification_reasons": ["1.4(b)", "1.4(d)", "1.4(e)", "1.4(g)"],
        "signers": ["CLINTON"],
        "paragraph_heads": [(str(n), "U//FOUO") for n in range(1, 15)] + [
            ("15", "S//NF"), ("16", "U//FOUO")],
    }),
    "10ANKARA87": (f"{HTML04}/2010/01/10ANKARA87.html", None, {
        "subject": "WHAT LIES BENEATH ANKARA'S NEW FOREIGN POLICY",
        "references": ["09ANKARA1717", "09ISTANBUL466", "09ANKARA1561"],
        "references_raw": ["A. 09 ANKARA 1717", "B. 09 ISTANBUL 466", "C. 09 ANKARA 1561 (EXDIS)"],
        "caveats": ["SIPDIS"],  # the EXDIS of a cited cable is not this cable's caveat
        "classified_by": "Ambassador James Jeffrey",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["Jeffrey"],  # then a two-line "Visit Ankara's Classified Web Site" notice
        # "INTRODUCTION/COMMENT" over dashes is a heading, not a paragraph
        "paragraph_heads": [(str(n), "C") for n in range(1, 18)],
    }),
    "07PARIS2440": (f"{HTML04}/2007/06/07PARIS2440.html", None, {
        "transmission_id": "RUEHFRA #2440 1581725",
        "recipients": ["RUEHC/SECSTATE WASHDC 0000"],
        "info_recipients": ["ARAB ISRAELI COLLECTIVE", "EUROPEAN POLITICAL COLLECTIVE",
                            "RHEHNSC/NSC WASHINGTON DC", "RUCNDT/USMISSION USUN NEW YORK"],
        "caveats": ["SIPDIS"],
        "declassify_on": "2017-06-07",
        "classified_by": "POLITICAL MINISTER-COUNSELOR JOSIAH ROSENBLATT",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["STAPLETON"],
        # "PAGE 02 RUEHFRA2440 C O N F I D E N T I A L PARIS 002440" falls inside paragraph 1
        "summary": "FRANCK GELLET, FRENCH DAS-EQUIVALENT FOR THE PERSIAN GULF, SHARED HIS VIEWS "
                   "ON IRAN AND IRAQ ON JUNE 7. GELLET ASSESSED THAT THE IRANIANS ARE "
                   "OVERCONFIDENT AND VULNERABLE TO A BAN ON INTERNATIONAL AIR TRAVEL. HIS "
                   "ASSESSMENT OF IRAQ WAS NOTABLY BLEAK.",
        "paragraph_lacks": ["RUEHFRA2440", "PAGE 0"],
    }),
    "09BRUSSELS537": (f"{HTML04}/2009/04/09BRUSSELS537.html", None, {
        "origin": "USEU Brussels",
        "origin_code": "BRUSSELS",
        "classification": "SECRET//NOFORN",
        "subject": "IRAN SANCTIONS: AA/S GLASER CONSULTS KEY AMBASSADORS IN BRUSSELS",
        "references": ["09BRUSSELS205", "09BRUSSELS41", "08BRUSSELS1468", "09BRUSSELS101"],
        "caveats": ["SIPDIS", "NOFORN"],
        "classified_by": "USEU EconMinCouns Peter Chase",
        "classification_reasons": ["1.4(b)", "1.4(d)", "1.4(e)"],
        "declassify_on": "2019-04-09",
        # "1. The minority opposed ..." is a list item inside the marked paragraph 1
        "paragraph_numbers": [str(n) for n in range(1, 19)],
    }),
    "09USUNNEWYORK93": (f"{HTML04}/2009/02/09USUNNEWYORK93.html", None, {
        "origin": "USUN New York",
        "origin_code": "USUNNEWYORK",
        "transmission_id": "RUCNDT #0093 0352206",
        "subject": "AMBASSADOR RICE MEETS WITH COSTA RICAN PERMREP URBINA",
        "classified_by": "Ambassador Rice",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["Rice"],
        "paragraph_heads": [(str(n), "C") for n in range(1, 6)],
    }),
    "08GENEVA256": (f"{HTML04}/2008/04/08GENEVA256.html", None, {
        "origin": "US Mission Geneva",
        # the page holds a tab-separated dump whose lines end in "\"
        "subject": "OIC POWER PLAY DOMINATES HUMAN RIGHTS COUNCIL SEVENTH SESSION",
        "references": ["07GENEVA2626"],
        "references_raw": ["07 GENEVA 2626"],
        "classified_by": "Ambassador Warren W. Tichenor",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "declassify_on": "2018-04-01",
        "signers": ["TICHENOR"],
        "paragraph_numbers": [str(n) for n in range(1, 14)],
    }),
    "05GABORONE411": (f"{HTML04}/2005/03/05GABORONE411.html", None, {
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "caveats": ["SIPDIS", "SBU"],  # "SENSITIVE BUT UNCLASSIFIED"
        "subject": "A VISIT TO GHANZI DISTRICT: HAPPINESS IS SOMEWHERE ELSE",
        "tags": ["PGOV", "PHUM", "BC", "SAN", "CKGR"],
        "declassify_on": None,
        "signers": ["HUGGINS"],  # at the end of the last line: "... avoided. HUGGINS"
        "summary_starts": "Ambassador Huggins visited Botswana",
        "paragraph_numbers": [str(n) for n in range(1, 24)],
    }),
    "06BUENOSAIRES34": (f"{HTML04}/2006/01/06BUENOSAIRES34.html", None, {
        "subject": "ARGENTINA -- 2006 INVESTMENT CLIMATE STATEMENT (PART 2 OF 2)",
        "references": ["05STATE202943"],
        "caveats": ["SIPDIS"],
        "signers": ["GUTIERREZ"],  # then "=====CABLE ENDS=====" and a stray quote
        # double-spaced and unnumbered: blocks end at two blank lines
        "paragraph_text": {0: ("The following is the second part of Embassy Buenos Aires'",
                               "of Part II:"),
                           -1: ("The Argentine Ministry of Economy",
                                "on foreign direct investment in Argentina.")},
        "paragraph_lacks": ["CABLE ENDS"],
    }),
    "08TRIPOLI577": (f"{HTML04}/2008/07/08TRIPOLI577.html", None, {
        # after the SUBJECT line, the whole cable is one line
        "subject": "QADHAFI FOUNDATION CONTINUES DIALOGUE ON RELEASE OF FORMER LIBYAN ISLAMIC "
                   "FIGHTING GROUP MEMBERS",
        "references": ["08TRIPOLI182", "08TRIPOLI320"],
        "references_raw": ["A) TRIPOLI 182", "B) TRIPOLI 320"],
        "classified_by": "John T. Godfrey, CDA, U.S. Embassy - Tripoli, Dept of State",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "signers": ["GODFREY"],
        "summary_starts": "An ongoing dialogue between the quasi-governmental Qadhafi",
        "summary_ends": "it is expected that they may be released soon.",
        "paragraph_heads": [("1", "C"), ("2", "U"), ("3", "C"), ("4", "C"), ("5", "C")],
    }),
    "05SANAA1352": (f"{HTML04}/2005/05/05SANAA1352.html", None, {
        "partial": True,
        "classification": "SECRET",
        # "S E C R E T SECTION 01 OF 02 SANAA 001352SIPDISE.O. 12958: ...TAGS: ..."
        "caveats": ["SIPDIS"],
        "declassify_on": "2015-05-21",
        "tags": ["PREL", "PGOV", "PTER", "PINR", "KMCA", "KMPI", "DOMESTIC", "POLITICS"],
        "subject": None,
        # paragraph 1 carries no "Summary:" label but ends with "End Summary."
        "summary_starts": "Ambassador met informally with XXXXXXXXXXXX.",
        "summary_ends": "maintain a close relationship with the USG in the long term.",
        "paragraph_heads": [(str(n), "S/NF") for n in range(1, 8)],
    }),
    "02HARARE2246-alx": ("txt_alx/02HARARE2246.txt", None, {
        "reference_id": "02HARARE2246",
        "partial": True,
        "created": "2002-10-09T00:00",  # the alx preamble gives the day only
        "warnings_contain": "date only",
        "classification": "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "origin": "Embassy Harare",
        "subject": "ZIMBABWE'S FOREX/FUEL QUANDARY",
        "tags": ["ECON", "EPET", "EFIN", "ETRD", "ZI"],
        "references": ["02HARARE2102"],
        "caveats": ["SIPDIS", "SENSITIVE"],
        "declassify_on": None,  # "¶E. O. 12958: N/A"
        "signers": ["Sullivan"],
        "summary": "Zimbabwe's fuel shortage has worsened. Each new Libyan demand for foreign "
                   "exchange sets off an eleventh hour crisis, as the GoZ seeks to wean hard "
                   "currency from a rapidly shrinking economy.",
        "paragraph_heads": [(None, None), ("1", "U"), ("2", "SBU"), ("3", "SBU"), ("4", "U"),
                            ("5", "U")],
        "paragraph_text": {0: ("Sensitive but unclassified.", "Protect accordingly.")},
    }),
    "89ANKARA17365-alx": ("txt_alx/89ANKARA17365.txt", None, {
        "reference_id": "89ANKARA17365",
        "created": "1989-12-06T14:23",  # the day of the preamble, the time of the DTG
        "classification": "UNCLASSIFIED",
        "origin": "Embassy Ankara",
        "subject": "TURKEY: 1989 ANNUAL TERRORISM REPORT",
        "tags": ["PTER", "TU"],
        "references": ["89STATE363024"],
        "recipients": ["SECSTATE WASHDC 9990"],
        # "AMCONSUL IZMIRUNCLAS SECTION 01 OF 02 ANKARA 17365": banner glued to the list
        "info_recipients": ["AMCONSUL ADANA", "AMCONSUL ISTANBUL", "AMCONSUL IZMIR"],
        "declassify_on": None,
        "precedence": "ROUTINE",
        "dtg": "061423Z DEC 89",
        "signers": ["ABRAMOWITZ"],
    }),
    "00ABUDHABI5893-pdf": ("pdf/00ABUDHABI5893.pdf", None, {
        "reference_id": "00ABUDHABI5893",  # the file name: the PDF states no ID
        "created": "2000-10-31T08:38",
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Abu Dhabi",
        "subject": 'SULTAN BIN ZAYID: "MUST THE U.S. BE TOUGHER THAN THE ISRAELIS ON PALESTINE?"',
        "tags": ["PREL", "XF", "TC"],  # one per line in the PDF text
        "recipients": ["SECSTATE WASHDC 7529"],
        "info_recipients": ["ARAB ISRAELI COLLECTIVE", "NSC WASHINGTON DC", "SECDEF WASHDC",
                            "CIA WASHINGTON DC", "DIA WASHINGTON DC"],
        "classified_by": "THEODORE H. KATTOUF, AMBASSADOR",
        "classification_reasons": ["1.5(b)", "1.5(d)"],
        "declassify_on": "2010-10-30",
        "precedence": "ROUTINE",
        "signers": ["KATTOUF"],
        "summary_starts": "A FRIENDLY BUT CLEARLY FRUSTRATED SULTAN BIN ZAYID",
        "paragraph_heads": [("1", "U")] + [(str(n), "C") for n in range(2, 8)],
    }),
    "00HANOI686-pdf": ("pdf/00HANOI686.pdf", None, {
        "reference_id": "00HANOI686",
        "partial": True,
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Hanoi",
        "tags": ["PGOV", "PREL", "ECON", "ETRD", "PINR", "PHUM", "VM", "DPOL"],
        "references": ["00HANOI637", "00HANOI232"],
        "classified_by": "POLITICAL COUNSELOR JAMES BRUNO",
        "classification_reasons": ["1.5(b)", "1.5(d)"],
        "declassify_on": "2020-03-21",
        "recipients": ["SECSTATE WASHDC PRIORITY 9479"],
        "dtg": None,  # the NARA header has no DTG line, only "PAGE 01 ... 050821Z"
        "created": None,
        "precedence": "PRIORITY",
        "summary_starts": "SENIOR LEADERS RECENTLY HAVE EMPHASIZED FAMILIAR IDEOLOGICAL THEMES",
    }),
    "05BRASILIA2339-reveal": ("txt_reveal/05BRASILIA2339.txt", None, {
        "reference_id": "05BRASILIA2339",
        "header": None,
        "created": None,
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Brasilia",
        "subject": "BRAZIL ON COMBATING WMD PROLIFERATION VIA FINANCIAL INTELLIGENCE UNITS",
        "tags": ["PARM", "PREL", "MNUC", "KTFN", "EFIN"],
        "references": ["05STATE158275"],
        "classified_by": "Economic Counselor Bruce Williamson",
        "classification_reasons": ["1.4(b)", "1.4(d)"],
        "declassify_on": "2015-09-01",
        "recipients": [],
        "signers": ["DANILOVICH"],
        "paragraph_heads": [("1", "C"), ("2", "C"), ("3", "C")],
    }),
    "1974ATHENS02959-plusd": ("plusd_1973_1979/1974ATHENS02959_b.html", None, {
        "reference_id": "74ATHENS2959",
        "warnings_contain": "PlusD numbering",
        "created": "1974-05-17T16:00",
        "classification": "LIMITED OFFICIAL USE",
        "origin": "Embassy Athens",
        "subject": "ARRESTS OF KALOUDIS AND AMBATIELOS",
        "references": ["74STATE97844"],  # "REF: STATE -097844", no year: the citing year
        "references_raw": ["STATE -097844"],
        "recipients": ["SECSTATE WASHDC 3410"],
        "info_recipients": ["AMEMBASSY LONDON", "AMEMBASSY CANBERRA", "AMCONSUL THESSALONIKI"],
        "precedence": "ROUTINE",
        "dtg": "171600Z MAY 74",
        "signers": ["TASCA"],
        "paragraph_heads": [("1", None), ("2", None)],
        # the page break (two classification lines, PAGE 02) does not split paragraph 2
        "paragraph_contains": {1: "BECAUSE OF THEIR\nACKNOWLEDGED COMMUNIST PARTY AFFILIATIONS"},
    }),
    "1973STATE097844-plusd": ("plusd_1973_1979/1973STATE097844_b.html", None, {
        "reference_id": "73STATE97844",
        "classification": "LIMITED OFFICIAL USE",
        "origin": "Secretary of State",
        "subject": "INFORMATION TO FORMER SENATOR TYDINGS",
        "tags": ["SPOP", "IT"],
        "recipients": ["AMEMBASSY LUXEMBOURG PRIORITY"],
        "info_recipients": ["AMEMBASSY ROME"],
        "precedence": "PRIORITY",
        "dtg": "221828 Z MAY 73",
        "created": "1973-05-22T18:28",
        "declassify_on": None,
        "signers": ["PORTER"],  # "... WITH MINISTER FOREIGN AFFAIRS.    PORTER"
        "paragraph_heads": [("1", None), ("2", None), ("3", None)],
        "paragraph_text": {2: ("IF UNREACHABLE HOTEL", "WITH MINISTER FOREIGN AFFAIRS.")},
    }),
    "7575LIBREVILLE1895-final": (
        "cablegate_html/2011-08_final_markchips/cable/1975/11/7575LIBREVILLE1895.html", None, {
            "reference_id": "7575LIBREVILLE1895",  # doubled year prefix, kept as published
            "warnings_contain": "malformed",
            "origin_code": "LIBREVILLE",
            "origin": "Embassy Libreville",
            "subject": "KOREA AT 30TH UNGA: GABON",  # "SUBJ:"
            "tags": ["PFOR", "UNGA", "GB", "KS", "KN"],
            "references": ["75STATE272523", "75USUNNEWYORK6028"],
            "references_raw": ["STATE 272523", "USUN 6028"],
            "recipients": ["USMISSION USUN NEWYORK NIACT IMMEDIATE",
                           "SECSTATE WASHDC IMMEDIATE 7102"],
            "info_recipients": ["AMEMBASSY PARIS", "AMEMBASSY SEOUL"],
            "precedence": "NIACT IMMEDIATE",
            "dtg": "181205Z NOV 75",
            "declassify_on": None,  # E.O. 11652: NGDS
            "paragraph_numbers": ["1"],
        }),
    "10MADRID49-2010-12": ("cablegate_html/2010-12_chillicoder/cable/2010/01/10MADRID49.html",
                           None, {
        # the December 2010 snapshot: the body stops at "Classified By: A..."
        "reference_id": "10MADRID49",
        "origin": "Embassy Madrid",
        "classification": "CONFIDENTIAL",
        "subject": "AMBASSADOR SOLOMONT'S JANUARY 18, 2010, MEETING WITH SPANISH MINISTER OF "
                   "INTERIOR RUBALCABA",
        "tags": ["PREL", "SP"],
        "declassify_on": "2020-01-19",
        "caveats": ["SIPDIS"],
        "classified_by": "A...",  # cut short as published
        "classification_reasons": [],
        "recipients": ["RUEHC/SECSTATE WASHDC 1693"],
        "info_recipients": ["RUEHZL/EUROPEAN POLITICAL COLLECTIVE"],
        "transmission_id": "RUEHMD #0049/01 0191734",
        "precedence": "ROUTINE",
        "dtg": "191734Z JAN 10",
        "signers": [],
        "paragraphs": [],
        "source_format": "cablegate-html-2010-12",
    }),
}


def _record(rel_path: str, row: int | None) -> dict:
    records = list(parse_path(CORPUS / rel_path))
    if row is None:
        assert len(records) == 1
        return records[0]
    return next(r for r in records if r["source"].get("row") == row)


def _check(record: dict, expected: dict) -> None:
    special = {
        "paragraph_heads", "paragraph_numbers", "paragraph_text", "paragraph_contains",
        "paragraph_lacks", "summary_starts", "summary_ends", "warnings_contain",
        "info_recipients_first_last", "source_format",
    }
    for name, value in expected.items():
        if name not in special:
            assert record[name] == value, name
    paragraphs = record["paragraphs"]
    if "paragraph_heads" in expected:
        assert [(p["number"], p["marking"]) for p in paragraphs] == expected["paragraph_heads"]
    if "paragraph_numbers" in expected:
        numbered = [p["number"] for p in paragraphs if p["number"] is not None]
        assert numbered == expected["paragraph_numbers"]
    for index, (start, end) in expected.get("paragraph_text", {}).items():
        assert paragraphs[index]["text"].startswith(start), index
        assert paragraphs[index]["text"].endswith(end), index
    for index, inner in expected.get("paragraph_contains", {}).items():
        assert inner in paragraphs[index]["text"], index
    for absent in expected.get("paragraph_lacks", []):
        assert all(absent not in p["text"] for p in paragraphs), absent
    if "summary_starts" in expected:
        assert record["summary"].startswith(expected["summary_starts"])
    if "summary_ends" in expected:
        assert record["summary"].endswith(expected["summary_ends"])
    if "warnings_contain" in expected:
        assert any(expected["warnings_contain"] in w for w in record["warnings"])
    if "info_recipients_first_last" in expected:
        first, last, count = expected["info_recipients_first_last"]
        assert record["info_recipients"][0] == first
        assert record["info_recipients"][-1] == last
        assert len(record["info_recipients"]) == count
    if "source_format" in expected:
        assert record["source"]["format"] == expected["source_format"]


@pytest.mark.parametrize("key", sorted(CABLES))
def test_hand_verified_cable(key: str, corpus) -> None:
    rel_path, row, expected = CABLES[key]
    _check(_record(rel_path, row), expected)


def test_hand_verified_seed_repost(seed_page) -> None:
    """The seed: a blog re-post of 07MOSCOW2205, cut short after paragraph 8."""
    (record,) = list(parse_path(seed_page))
    _check(record, {
        "reference_id": "07MOSCOW2205",
        "created": "2007-05-14T03:19",
        "released": "2011-08-30T01:44",
        "classification": "CONFIDENTIAL",
        "origin": "Embassy Moscow",
        "origin_code": "MOSCOW",
        "subject": None,  # the re-post leaves out the SUBJECT and TAGS lines
        "tags": [],
        "references": [],
        "recipients": [],
        "transmission_id": "RUEHMO #2205/01 1340319",
        "dtg": "140319Z MAY 07",
        "precedence": "IMMEDIATE",
        "declassify_on": "2017-05-11",
        "classified_by": "Ambassador William J. Burns",
        "classification_reasons": ["1.4(b)", "1.4(d)"],  # "Reasons 1,4 (B/D)"
        "caveats": [],
        "signers": [],  # cut short: no signature
        "partial": False,
        "summary_starts": 'In a May 10 meeting with the Ambassador, DFM Losyukov promised "no '
                          'surprises" at the Bishkek Shanghai Cooperation Organization summit',
        "summary_ends": "said that he did not plan to engage in nuclear issues.",
        "paragraph_heads": [(str(n), "C") for n in range(1, 9)],
        # "MOSCOW 00002205  002 OF 002" stands between paragraphs 5 and 6
        "paragraph_text": {4: ("Losyukov told the Ambassador that the GOR is waiting",
                               "guarantee of no future retaliation."),
                           5: ("The GOR agrees with China", "plenary sessions."),
                           7: ("Losyukov is scheduled to visit Iran May 13 - 16.",
                               '"test the mood" in Teheran on Russian-Iranian bilateral')},
        "paragraph_lacks": ["00002205"],
    })


def test_the_list_is_long_enough() -> None:
    assert len(CABLES) + 1 >= 30
