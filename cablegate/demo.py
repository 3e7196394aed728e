"""Realistic SYNTHETIC cables for a demo archive (``cablegate demo``).

Every generated cable is written in the real telegram text format (VZCZC
start, ``OO`` relay line, DE line with the post's routing indicator, security
line, DTG, FM/TO/INFO with real routing indicators and post names from the
shipped reference data, classification banner, E.O. 12958/12356/13526 DECL
line, TAGS, SUBJECT, REF lines citing other generated cables, Classified By
with reasons, numbered paragraphs with markings, page-break lines, signer), and
is clearly labelled: its subject starts with "SYNTHETIC DEMO CABLE" and its
first paragraph says so. Names of people are invented; posts, routing
indicators, TAGS and classification rules are real.

The generator is deterministic for a given (count, seed). The texts then go
through ``cablegate.parse_text`` into records and through the store's ingest
like any other input (``build_demo``), so a demo archive is built exactly the
way a real one is.
"""

from __future__ import annotations

import json
import random
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import ids

DEMO_LABEL = "SYNTHETIC DEMO CABLE"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# Posts used by the demo: origin code -> (TAGS country code, country, adjective, region).
# Post names and routing indicators come from the reference data (ids.origins()).
POSTS: dict[str, tuple[str, str, str, str]] = {
    "MOSCOW": ("RS", "Russia", "Russian", "EUR"),
    "PARIS": ("FR", "France", "French", "EUR"),
    "LONDON": ("UK", "the United Kingdom", "British", "EUR"),
    "BERLIN": ("GM", "Germany", "German", "EUR"),
    "MADRID": ("SP", "Spain", "Spanish", "EUR"),
    "ROME": ("IT", "Italy", "Italian", "EUR"),
    "ANKARA": ("TU", "Turkey", "Turkish", "EUR"),
    "ISTANBUL": ("TU", "Turkey", "Turkish", "EUR"),
    "KYIV": ("UP", "Ukraine", "Ukrainian", "EUR"),
    "WARSAW": ("PL", "Poland", "Polish", "EUR"),
    "THEHAGUE": ("NL", "the Netherlands", "Dutch", "EUR"),
    "REYKJAVIK": ("IC", "Iceland", "Icelandic", "EUR"),
    "STOCKHOLM": ("SW", "Sweden", "Swedish", "EUR"),
    "VIENNA": ("AU", "Austria", "Austrian", "EUR"),
    "SOFIA": ("BU", "Bulgaria", "Bulgarian", "EUR"),
    "TBILISI": ("GG", "Georgia", "Georgian", "EUR"),
    "CAIRO": ("EG", "Egypt", "Egyptian", "NEA"),
    "BAGHDAD": ("IZ", "Iraq", "Iraqi", "NEA"),
    "RIYADH": ("SA", "Saudi Arabia", "Saudi", "NEA"),
    "TELAVIV": ("IS", "Israel", "Israeli", "NEA"),
    "AMMAN": ("JO", "Jordan", "Jordanian", "NEA"),
    "BEIRUT": ("LE", "Lebanon", "Lebanese", "NEA"),
    "RABAT": ("MO", "Morocco", "Moroccan", "NEA"),
    "TUNIS": ("TS", "Tunisia", "Tunisian", "NEA"),
    "DOHA": ("QA", "Qatar", "Qatari", "NEA"),
    "KABUL": ("AF", "Afghanistan", "Afghan", "SCA"),
    "ISLAMABAD": ("PK", "Pakistan", "Pakistani", "SCA"),
    "NEWDELHI": ("IN", "India", "Indian", "SCA"),
    "ASTANA": ("KZ", "Kazakhstan", "Kazakhstani", "SCA"),
    "COLOMBO": ("CE", "Sri Lanka", "Sri Lankan", "SCA"),
    "BEIJING": ("CH", "China", "Chinese", "EAP"),
    "TOKYO": ("JA", "Japan", "Japanese", "EAP"),
    "SEOUL": ("KS", "South Korea", "South Korean", "EAP"),
    "JAKARTA": ("ID", "Indonesia", "Indonesian", "EAP"),
    "BANGKOK": ("TH", "Thailand", "Thai", "EAP"),
    "HANOI": ("VM", "Vietnam", "Vietnamese", "EAP"),
    "SINGAPORE": ("SN", "Singapore", "Singaporean", "EAP"),
    "BRASILIA": ("BR", "Brazil", "Brazilian", "WHA"),
    "SAOPAULO": ("BR", "Brazil", "Brazilian", "WHA"),
    "MEXICO": ("MX", "Mexico", "Mexican", "WHA"),
    "BOGOTA": ("CO", "Colombia", "Colombian", "WHA"),
    "CARACAS": ("VE", "Venezuela", "Venezuelan", "WHA"),
    "BUENOSAIRES": ("AR", "Argentina", "Argentine", "WHA"),
    "LIMA": ("PE", "Peru", "Peruvian", "WHA"),
    "OTTAWA": ("CA", "Canada", "Canadian", "WHA"),
    "NAIROBI": ("KE", "Kenya", "Kenyan", "AF"),
    "ABUJA": ("NI", "Nigeria", "Nigerian", "AF"),
    "PRETORIA": ("SF", "South Africa", "South African", "AF"),
    "ADDISABABA": ("ET", "Ethiopia", "Ethiopian", "AF"),
    "DAKAR": ("SG", "Senegal", "Senegalese", "AF"),
}
STATE = "STATE"

# Classification (WikiLeaks value) -> weight, roughly the real corpus's mix.
CLASSIFICATIONS: dict[str, float] = {
    "CONFIDENTIAL": 0.42,
    "UNCLASSIFIED//FOR OFFICIAL USE ONLY": 0.18,
    "UNCLASSIFIED": 0.14,
    "SECRET": 0.12,
    "SECRET//NOFORN": 0.08,
    "CONFIDENTIAL//NOFORN": 0.06,
}
# Creation years: weights shaped like Cablegate (few before 2000, most 2006-2009).
YEARS: dict[int, float] = {
    **{y: 0.15 for y in range(1985, 1995)},
    **{y: 0.3 for y in range(1995, 2003)},
    2003: 1.0,
    2004: 2.0,
    2005: 4.0,
    2006: 5.5,
    2007: 6.5,
    2008: 8.5,
    2009: 9.5,
    2010: 3.0,
}

FIRST_NAMES = (
    "Arlen",
    "Mira",
    "Tomas",
    "Ilse",
    "Petra",
    "Jonas",
    "Selim",
    "Hana",
    "Ravi",
    "Lucia",
    "Oren",
    "Dara",
    "Viktor",
    "Noor",
    "Emil",
    "Talia",
    "Bram",
    "Ines",
    "Kofi",
    "Sunil",
    "Marta",
    "Leon",
    "Yara",
    "Anton",
)
LAST_NAMES = (
    "Voss",
    "Dane",
    "Keller",
    "Marwick",
    "Halden",
    "Orsini",
    "Brandt",
    "Castel",
    "Navarro",
    "Lindqvist",
    "Okafor",
    "Renner",
    "Sato",
    "Varga",
    "Whitcombe",
    "Adair",
    "Belmonte",
    "Corwin",
    "Drury",
    "Faulk",
    "Garrow",
    "Hollis",
    "Iverson",
    "Jessop",
    "Kestrel",
    "Larkin",
    "Mercer",
    "Nyland",
    "Penrose",
    "Quill",
)
EMBASSY_TITLES = (
    "Ambassador",
    "Charge d'Affaires",
    "DCM",
    "Political Counselor",
    "Economic Counselor",
    "Acting DCM",
    "Pol/Econ Chief",
)
LOCAL_TITLES = (
    "Deputy Foreign Minister",
    "Minister of Finance",
    "presidential advisor",
    "Defense Ministry State Secretary",
    "Central Bank Governor",
    "opposition party leader",
    "Energy Minister",
    "Interior Ministry official",
    "MFA Director for the Americas",
    "parliamentary committee chair",
)


@dataclass(frozen=True)
class Topic:
    subject: str
    tags: tuple[str, ...]
    sentences: tuple[str, ...]
    comment: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "{COUNTRY}: {TITLE} PREVIEWS REGIONAL SUMMIT",
        ("PREL", "PGOV"),
        (
            "In a {month} {day} meeting, {title} {name} told the {ourtitle} that {country} would "
            "not seek any surprises at the upcoming regional summit.",
            "{name} said the {adj} government hoped the summit would endorse a modest work plan "
            "on transport links and customs cooperation.",
            "The {ourtitle} urged closer coordination with Washington before the final communique "
            "is drafted, noting that several partners share U.S. concerns.",
            "{name} acknowledged those concerns but argued that the agenda was already crowded "
            "and that new initiatives would have to wait until the autumn.",
            "He added that the foreign ministry expects a ministerial follow-up meeting within "
            "{n} weeks and would welcome U.S. views before then.",
        ),
        (
            "{name}'s assurances are consistent with what we hear from other ministry contacts, "
            "but the {adj} side has surprised us before at such gatherings.",
        ),
    ),
    Topic(
        "{COUNTRY}: CENTRAL BANK CAUTIOUS ON INFLATION OUTLOOK",
        ("ECON", "EFIN"),
        (
            "{title} {name} told EconOff on {month} {day} that inflation is likely to end the "
            "year near {pct} percent, above the official target.",
            "He attributed the overshoot to food and fuel prices and to faster credit growth in "
            "the construction sector.",
            "The bank will keep its policy rate unchanged for now but is prepared to tighten "
            "reserve requirements if lending does not slow.",
            "{name} was critical of the draft budget, which he said relies on optimistic revenue "
            "assumptions and postpones needed subsidy reform.",
            "Private sector economists in {city} broadly share the bank's view, though several "
            "expect a sharper slowdown in the second half of the year.",
        ),
        (
            "The central bank's independence remains an open question; we will watch whether the "
            "government accepts the tighter stance.",
        ),
    ),
    Topic(
        "{COUNTRY}: OPPOSITION PREPARES FOR PROVINCIAL ELECTIONS",
        ("PGOV", "KDEM", "PINR"),
        (
            "{title} {name} told PolOff that the opposition will field joint candidates in "
            "{n} provinces, a first since the last national vote.",
            "The coalition's platform focuses on local services, anti-corruption measures and "
            "the transparency of public procurement.",
            "{name} complained that state media coverage remains heavily tilted toward the "
            "ruling party and that permits for rallies are routinely delayed.",
            "Election commission officials told us separately that voter registration is on "
            "schedule and that observers will be accredited as in previous cycles.",
            "Civil society contacts in {city} expect turnout to be low outside the major cities.",
        ),
        (
            "A credible opposition showing would be a healthy sign, but the playing field is "
            "far from level.",
        ),
    ),
    Topic(
        "{COUNTRY}: DEFENSE MINISTRY OUTLINES EXERCISE PLANS",
        ("MARR", "PREL", "MCAP"),
        (
            "{title} {name} briefed the DATT on {month} {day} on plans for a combined exercise "
            "involving about {n} hundred personnel.",
            "The exercise will test search and rescue, maritime patrol and disaster response "
            "procedures with neighboring states.",
            "{name} asked whether the U.S. could send observers and provide a small team to help "
            "plan the logistics phase.",
            "The {ourtitle} welcomed the invitation and noted that any participation would be "
            "coordinated through the regional combatant command.",
            "Ministry officials also raised the status of pending equipment deliveries and "
            "training slots at U.S. service schools.",
        ),
        (
            "The invitation reflects a steady improvement in military-to-military ties that we "
            "should encourage.",
        ),
    ),
    Topic(
        "{COUNTRY}: ENERGY MINISTRY SEEKS INVESTMENT IN POWER GRID",
        ("ENRG", "EINV", "ECON"),
        (
            "{title} {name} told EconCouns on {month} {day} that the country needs about {n} "
            "billion dollars of investment in transmission lines over the next decade.",
            "The ministry plans to tender several projects as public-private partnerships and "
            "hopes U.S. firms will bid.",
            "{name} conceded that tariff levels are still too low to attract private investors "
            "and that a tariff review is politically sensitive.",
            "Representatives of U.S. companies in {city} told us the regulatory framework is "
            "improving but that payment arrears remain a serious concern.",
            "Post will continue to advocate for a transparent tender process.",
        ),
        (
            "The grid plan is ambitious; its success will depend on tariff reform that the "
            "government has postponed twice.",
        ),
    ),
    Topic(
        "{COUNTRY}: NGO LEADERS DESCRIBE PRESS FREEDOM CONCERNS",
        ("PHUM", "KPAO", "PGOV"),
        (
            "At a {month} {day} roundtable hosted by the {ourtitle}, leaders of {n} NGOs "
            "described growing pressure on independent media.",
            "Participants cited tax inspections of newspapers, the revocation of broadcast "
            "licenses and lawsuits against reporters.",
            "One editor, {name}, said self-censorship has become the main problem and that "
            "younger journalists are leaving the profession.",
            "The {ourtitle} stressed U.S. support for a free press and encouraged the groups to "
            "document individual cases carefully.",
            "Participants asked for continued public statements and for training on digital "
            "security.",
        ),
        (
            "The picture painted by our contacts is consistent with reporting from other "
            "observers; we recommend raising it in the next bilateral dialogue.",
        ),
    ),
    Topic(
        "{COUNTRY}: VISA FRAUD TRENDS AT THE CONSULAR SECTION",
        ("CVIS", "CMGT", "ASEC"),
        (
            "The consular section's fraud prevention unit reviewed {n} hundred nonimmigrant visa "
            "applications during the last quarter.",
            "The most common schemes involved fabricated employment letters and bank statements "
            "produced by travel agencies in {city}.",
            "The unit worked with local authorities to identify one agency responsible for a "
            "large share of the fraudulent documents.",
            "Refusal rates remained stable, and interview wait times fell to about {n} days.",
            "The section will share the results with other posts in the region.",
        ),
        ("Cooperation with local authorities on document fraud has improved markedly.",),
    ),
    Topic(
        "{COUNTRY}: COUNTERNARCOTICS COOPERATION REVIEW",
        ("SNAR", "PREL", "KCRM"),
        (
            "{title} {name} reviewed counternarcotics cooperation with the NAS director on "
            "{month} {day}.",
            "Seizures at the main port rose by {pct} percent this year, thanks in part to new "
            "scanning equipment provided under the bilateral program.",
            "{name} asked for additional training for prosecutors and for help with a case "
            "management system.",
            "The NAS director noted that continued support depends on progress in the pending "
            "extradition cases.",
            "Both sides agreed to hold a technical meeting in {city} next quarter.",
        ),
        (
            "Cooperation is good at the working level; the political will to pursue senior "
            "traffickers is less certain.",
        ),
    ),
    Topic(
        "{COUNTRY}: TRADE DELEGATION VISIT READOUT",
        ("ETRD", "BEXP", "ECON"),
        (
            "A delegation of {n} U.S. companies visited {city} on {month} {day} for meetings "
            "with ministers and business associations.",
            "{title} {name} welcomed the visit and promised to address long-standing complaints "
            "about customs valuation.",
            "Companies raised intellectual property enforcement, slow payment by state "
            "enterprises and unclear licensing rules.",
            "The delegation signed two memoranda of understanding on agricultural equipment and "
            "medical supplies.",
            "Post will follow up with the ministries on each of the issues raised.",
        ),
        (
            "The visit generated positive press coverage and useful commitments that we will "
            "hold the government to.",
        ),
    ),
    Topic(
        "{COUNTRY}: HEALTH MINISTRY RESPONSE TO INFLUENZA OUTBREAK",
        ("TBIO", "KFLU", "SOCI"),
        (
            "{title} {name} told the {ourtitle} on {month} {day} that {n} suspected cases of "
            "avian influenza have been reported in two provinces.",
            "The ministry has culled poultry within a three-kilometer radius and set up "
            "checkpoints on the main roads.",
            "{name} requested additional testing kits and technical advice on laboratory "
            "procedures.",
            "The CDC regional office is in contact with the ministry and will send an expert "
            "team if requested.",
            "Local media coverage has been calm and factual.",
        ),
        (
            "The ministry's response has been prompt and transparent, an improvement over "
            "previous outbreaks.",
        ),
    ),
)

STATE_TOPICS: tuple[Topic, ...] = (
    Topic(
        "DEMARCHE REQUEST: {TOPIC} AT THE UN GENERAL ASSEMBLY",
        ("PREL", "UNGA", "KUNR"),
        (
            "This is an action request. Posts are requested to approach host government "
            "officials at the appropriate level before {month} {day}.",
            "The United States seeks support for a resolution on {topic} that will be "
            "considered in the Third Committee.",
            "Posts may draw on the points below and should report responses by cable.",
            "Begin points: The United States values its cooperation with your government on "
            "multilateral issues. End points.",
            "The Department appreciates posts' assistance. Please slug responses for IO/UNP.",
        ),
        ("",),
    ),
    Topic(
        "GUIDANCE: {TOPIC} FOR THE MINISTERIAL MEETING",
        ("PREL", "OVIP", "KPAO"),
        (
            "The following guidance is provided for use at the ministerial meeting on {topic}.",
            "Delegations should stress that the United States supports a results-oriented "
            "agenda with measurable commitments.",
            "If asked, delegations may confirm that funding decisions for the next fiscal year "
            "have not been made.",
            "The Department requests that posts share the guidance with host governments only "
            "orally.",
            "Questions may be directed to the relevant regional bureau.",
        ),
        ("",),
    ),
)
# Background sentences any post cable may carry (longer cables have more of them).
GENERIC: tuple[str, ...] = (
    "{name} has held the post for {n} months and is regarded as a pragmatic interlocutor.",
    "The meeting lasted about an hour and was cordial throughout.",
    "Several diplomatic colleagues in {city} have offered similar assessments.",
    "Press coverage of the issue has been limited, and the government has made no public "
    "statement.",
    "The {ourtitle} will raise the matter again at the next scheduled meeting.",
    "We expect further developments after the parliamentary recess.",
    "Other donors represented in {city} are following the issue closely.",
    "Ministry staff said a written proposal would be shared with the embassy shortly.",
)
STATE_ISSUES = (
    "maritime safety",
    "food security",
    "climate finance",
    "refugee protection",
    "counterterrorism financing",
    "nuclear security",
    "press freedom",
    "trafficking in persons",
)


@dataclass
class DemoCable:
    """One generated cable: its text (and a second version's, if it has one)."""

    reference_id: str
    created: datetime
    released: datetime
    text: str
    classification: str = ""
    origin_code: str = ""
    revised_text: str | None = None
    revised_released: datetime | None = None
    cites: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    code: str
    created: datetime
    classification: str
    serial: int
    topic: Topic
    refid: str = ""


# --------------------------------------------------------------------------- helpers


def _posts() -> dict[str, ids.Origin]:
    """The demo posts that the reference data knows (name and routing indicator)."""
    known = ids.origins()
    return {code: known[code] for code in [*POSTS, STATE] if code in known}


def _pla(origin: ids.Origin) -> str:
    """Plain language address as in the FM/TO lines (AMEMBASSY MOSCOW, SECSTATE WASHDC)."""
    if origin.code == STATE:
        return "SECSTATE WASHDC"
    name = origin.name
    for prefix, pla in (("Embassy ", "AMEMBASSY "), ("Consulate ", "AMCONSUL ")):
        if name.startswith(prefix):
            return pla + name[len(prefix) :].upper()
    return name.upper()


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _pick_weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _wrap(text: str, width: int = 66) -> list[str]:
    """Lines of a paragraph as cables have them: wrapped, with a trailing space."""
    return [line + " " for line in textwrap.wrap(text, width=width)]


def _dtg(when: datetime) -> str:
    return f"{when:%d%H%M}Z {MONTHS[when.month - 1]} {when:%y}"


def _spaced(level: str) -> str:
    return " ".join(level)


def _regime(created: datetime) -> tuple[str, str | None]:
    """(E.O. number, reasons section) in force on the creation date."""
    if created < datetime(1995, 10, 14):
        return "12356", None
    if created < datetime(2003, 3, 25):
        return "12958", "1.5"
    if created < datetime(2010, 6, 27):
        return "12958", "1.4"
    return "13526", "1.4"


MARKINGS = {
    "CONFIDENTIAL": ("C", "C", "C", "U", "SBU"),
    "CONFIDENTIAL//NOFORN": ("C/NF", "C", "C/NF", "U"),
    "SECRET": ("S", "S", "C", "U"),
    "SECRET//NOFORN": ("S/NF", "S/NF", "S", "C"),
    "UNCLASSIFIED//FOR OFFICIAL USE ONLY": ("SBU", "SBU", "U"),
    "UNCLASSIFIED": ("U",),
}


# --------------------------------------------------------------------------- planning


def _plan(count: int, rng: random.Random) -> list[_Plan]:
    """Origins, dates, classifications and serials, in creation order."""
    posts = _posts()
    codes = [c for c in posts if c != STATE]
    plans: list[_Plan] = []
    for _ in range(count):
        year = _pick_weighted(rng, YEARS)
        start = datetime(year, 1, 1)
        days = 365 if year != 2010 else 58  # Cablegate's last cables are from Feb 2010
        created = start + timedelta(
            days=rng.randrange(days), hours=rng.randrange(24), minutes=rng.randrange(60)
        )
        code = STATE if STATE in posts and rng.random() < 0.1 else rng.choice(codes)
        classification = _pick_weighted(rng, CLASSIFICATIONS)
        if code == STATE:
            classification = rng.choice(("UNCLASSIFIED", "CONFIDENTIAL"))
        topics = STATE_TOPICS if code == STATE else TOPICS
        plans.append(_Plan(code, created, classification, 0, rng.choice(topics)))
    plans.sort(key=lambda p: p.created)
    serials: dict[tuple[str, int], int] = {}
    for plan in plans:
        key = (plan.code, plan.created.year)
        base = serials.get(key) or (
            rng.randrange(20000, 60000) if plan.code == STATE else rng.randrange(40, 400)
        )
        serial = base + rng.randrange(1, 60 if plan.code != STATE else 2500)
        serials[key] = serial
        plan.serial = serial
        plan.refid = f"{plan.created:%y}{plan.code}{serial}"
    seen: set[str] = set()
    unique = []
    for plan in plans:
        if plan.refid not in seen:
            seen.add(plan.refid)
            unique.append(plan)
    return unique


# --------------------------------------------------------------------------- writing


class _Writer:
    def __init__(
        self, plan: _Plan, rng: random.Random, origin: ids.Origin, posts: dict[str, ids.Origin]
    ) -> None:
        self.plan, self.rng, self.origin, self.posts = plan, rng, origin, posts
        country = POSTS.get(plan.code, ("", "the host country", "host government", "EUR"))
        self.tag, self.country, self.adj, self.region = country
        self.slots = {
            "country": self.country,
            "COUNTRY": self.country.upper().removeprefix("THE "),
            "adj": self.adj,
            "city": "Washington" if plan.code == STATE else origin.name.split(" ", 1)[-1],
            "name": _name(rng),
            "title": rng.choice(LOCAL_TITLES),
            "TITLE": rng.choice(LOCAL_TITLES).upper(),
            "ourtitle": rng.choice(("Ambassador", "Charge", "DCM")),
            "topic": rng.choice(STATE_ISSUES),
            "n": str(rng.randrange(3, 40)),
            "pct": str(rng.randrange(4, 35)),
        }
        self.slots["TOPIC"] = self.slots["topic"].upper()

    def fill(self, template: str) -> str:
        when = self.plan.created + timedelta(days=self.rng.randrange(1, 20))
        return template.format(month=when.strftime("%B"), day=when.day, **self.slots)

    # -- header

    def header(self) -> str:
        plan, rng = self.plan, self.rng
        created = plan.created
        prec = rng.choices("OPR", weights=(4, 4, 3))[0]
        word = {"O": "IMMEDIATE", "P": "PRIORITY", "R": ""}[prec]
        lines: list[str] = []
        to, info = self.addressees(rng)
        modern = created.year >= 1995
        if modern:
            lines.append(f"VZCZCXRO{rng.randrange(10000):04d}")
            relay = " ".join(sorted({self.posts[c].routing_indicator for c in info}))
            lines.append(f"{prec}{prec} RUEHWEB" if not relay else f"{prec}{prec} {relay}")
            section = "/01" if self.sections > 1 else ""
            julian = created.timetuple().tm_yday
            lines.append(
                f"DE {self.origin.routing_indicator} #{plan.serial % 10000:04d}{section}"
                f" {julian:03d}{created:%H%M}"
            )
            letter = plan.classification[0]
            lines.append("ZNR UUUUU ZZH" if letter == "U" else f"ZNY {letter * 5} ZZH")
        lines.append(f"{prec} {_dtg(created)}")
        lines.append(f"FM {_pla(self.origin)}")
        seq = rng.randrange(1000, 9999)
        for i, code in enumerate(to):
            target = self.posts[code]
            ri = f"{target.routing_indicator}/" if modern else ""
            suffix = " ".join(x for x in (word, f"{seq + i:04d}") if x)
            lines.append(f"{'TO ' if i == 0 else ''}{ri}{_pla(target)} {suffix}".rstrip())
        for i, code in enumerate(info):
            target = self.posts[code]
            ri = f"{target.routing_indicator}/" if modern else ""
            lines.append(
                f"{'INFO ' if i == 0 else ''}{ri}{_pla(target)} {rng.randrange(1000, 9999)}"
            )
        return "\n".join(lines)

    def addressees(self, rng: random.Random) -> tuple[list[str], list[str]]:
        if self.plan.code == STATE:
            pool = [c for c in self.posts if c != STATE]
            return rng.sample(pool, min(len(pool), rng.randrange(1, 4))), []
        same_region = [
            c
            for c, v in POSTS.items()
            if v[3] == self.region and c != self.plan.code and c in self.posts
        ]
        info = rng.sample(same_region, min(len(same_region), rng.randrange(0, 4)))
        return [STATE] if STATE in self.posts else [], info

    # -- body

    def body(self, refs: list[_Plan], signer: str, classified_by: str) -> str:
        plan, rng = self.plan, self.rng
        created = plan.created
        level = plan.classification.split("//")[0]
        unclas = level == "UNCLASSIFIED"
        serial_text = f"{plan.serial:06d}" if created.year >= 1995 else f"{plan.serial:05d}"
        post = self.origin.name.split(" ", 1)[-1].upper() if plan.code != STATE else "STATE"
        section = f"SECTION 01 OF {self.sections:02d} " if self.sections > 1 else ""
        banner_level = "UNCLAS" if unclas else (_spaced(level) if created.year >= 1995 else level)
        out = [f"{banner_level} {section}{post} {serial_text} ", ""]
        if "NOFORN" in plan.classification:
            out += ["NOFORN ", ""]
        if plan.classification.endswith("OFFICIAL USE ONLY"):
            out += ["SENSITIVE ", "SIPDIS ", ""]
        elif created.year >= 2005:
            out += ["SIPDIS ", ""]
        eo, section_no = _regime(created)
        if unclas:
            out.append(f"E.O. {eo}: N/A ")
        elif eo == "12356":
            out.append("E.O. 12356: DECL: OADR ")
        else:
            decl = (
                created.replace(year=created.year + 10)
                if created.month != 2 or created.day != 29
                else created.replace(year=created.year + 10, day=28)
            )
            out.append(f"E.O. {eo}: DECL: {decl:%m/%d/%Y} ")
        tags = list(plan.topic.tags[:2]) + ([self.tag] if self.tag else [])
        if plan.code == STATE:
            tags = list(plan.topic.tags)
        sep = ", " if rng.random() < 0.3 else " "
        out.append("TAGS: " + sep.join(tags) + " ")
        subject = f"{DEMO_LABEL} - " + self.fill(plan.topic.subject)
        wrapped = _wrap("SUBJECT: " + subject, 64)
        out += wrapped
        out.append(" ")
        if refs:
            out += self.ref_lines(refs)
            out.append(" ")
        if not unclas:
            reasons = {
                "1.5": "1.5 (b) and (d)",
                "1.4": rng.choice(("1.4 (b) and (d)", "1.4 (b), (d)", "1.4 (d)")),
            }
            if section_no:
                out += _wrap(f"Classified By: {classified_by}. Reasons {reasons[section_no]}.", 64)
                out.append(" ")
        out += self.paragraphs(post, serial_text)
        out += [" ", signer]
        return "\n".join(out)

    def ref_lines(self, refs: list[_Plan]) -> list[str]:
        items = []
        for plan in refs:
            if plan.created.year == self.plan.created.year:
                items.append(f"{plan.code} {plan.serial}")
            else:
                items.append(f"{plan.created:%y} {plan.code} {plan.serial}")
        if len(items) == 1:
            return [f"REF: {items[0]} "]
        lines = [f"REF: A. {items[0]} "]
        for letter, item in zip("BCDEF", items[1:], strict=False):
            lines.append(f"     {letter}. {item} ")
        return lines

    def paragraphs(self, post: str, serial_text: str) -> list[str]:
        plan, rng = self.plan, self.rng
        marks = MARKINGS[plan.classification]
        sentences = [_capital(self.fill(s)) for s in plan.topic.sentences]
        if plan.code != STATE:
            extra = rng.sample(GENERIC, 5 if self.sections > 1 else rng.randrange(0, 3))
            sentences += [_capital(self.fill(s)) for s in extra]
        paras: list[str] = []
        summary = (
            f"Summary: This is a {DEMO_LABEL.lower()} generated for a demo archive; "
            f"the events and people in it are invented. "
            + " ".join(sentences[:2])
            + " End summary."
        )
        paras.append(summary)
        rest = sentences[2:]
        rng.shuffle(rest)
        while rest:
            take = rng.randrange(1, 3)
            paras.append(" ".join(rest[:take]))
            rest = rest[take:]
        comment = self.fill(rng.choice(plan.topic.comment)) if plan.topic.comment[0] else ""
        if comment:
            paras.append(f"Comment: {comment} End comment.")
        lines: list[str] = []
        page_at = rng.randrange(12, 18) if self.sections > 1 else 10**9
        page = 1
        for number, text in enumerate(paras, 1):
            mark = marks[0] if number == 1 else rng.choice(marks)
            marked = (
                f"{number}. ({mark}) {text}" if plan.created.year >= 1990 else f"{number}. {text}"
            )
            for line in _wrap(marked):
                lines.append(line)
                if len(lines) >= page_at and page < self.sections:
                    page += 1
                    serial8 = f"{plan.serial:08d}"
                    lines += [" ", f"{post} {serial8}  {page:03d} OF {self.sections:03d} ", " "]
                    page_at = len(lines) + rng.randrange(18, 30)
            lines.append(" ")
        return lines[:-1]

    @property
    def sections(self) -> int:
        return 2 if self.plan.serial % 3 == 0 else 1


def _missing_plan(plan: _Plan, rng: random.Random) -> _Plan:
    """A cited cable that the demo archive does not contain (a high STATE serial)."""
    serial = rng.randrange(200000, 299999)
    missing = _Plan(
        STATE,
        plan.created - timedelta(days=rng.randrange(3, 40)),
        "UNCLASSIFIED",
        serial,
        plan.topic,
    )
    missing.refid = f"{missing.created:%y}{STATE}{serial}"
    return missing


def _revise(text: str, rng: random.Random, name: str) -> str:
    """A second published version: a contact's name redacted, or a sentence added."""
    if name in text and rng.random() < 0.6:
        return text.replace(name, "XXXXXXXXXXXX")
    lines = text.split("\n")
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].startswith(("2. ", "3. ")):
            lines.insert(i + 1, "(Corrected copy: this sentence was added in the second release.) ")
            break
    return "\n".join(lines)


def generate(count: int = 300, seed: int = 2010) -> list[DemoCable]:
    """``count`` synthetic cables (fewer if two plans draw the same ID), in creation order."""
    rng = random.Random(seed)
    posts = _posts()
    plans = _plan(count, rng)
    release_days = [
        date(2010, 11, 28) + timedelta(days=d) for d in sorted(rng.sample(range(0, 280), 40))
    ]
    cables: list[DemoCable] = []
    for i, plan in enumerate(plans):
        origin = posts[plan.code]
        writer = _Writer(plan, rng, origin, posts)
        earlier = plans[max(0, i - 60) : i]
        refs = rng.sample(earlier, min(len(earlier), rng.choice((0, 0, 1, 1, 2, 3))))
        refs.sort(key=lambda p: p.created)
        cites = [p.refid for p in refs]
        if rng.random() < 0.1:  # a reference to a cable that is not in the archive
            refs.append(_missing_plan(plan, rng))
        signer = rng.choice(LAST_NAMES).upper()
        classified_by = f"{rng.choice(EMBASSY_TITLES)} {_name(rng)}"
        text = writer.header() + "\n" + writer.body(refs, signer, classified_by) + "\n"
        day = rng.choice(release_days)
        released = datetime(day.year, day.month, day.day, rng.randrange(0, 24), rng.randrange(60))
        cable = DemoCable(plan.refid, plan.created, released, text, plan.classification,
                          plan.code, cites=cites)
        if rng.random() < 0.06:
            cable.revised_text = _revise(text, rng, writer.slots["name"])
            cable.revised_released = released + timedelta(days=rng.randrange(20, 90))
        cables.append(cable)
    return cables


# --------------------------------------------------------------------------- building


def demo_records(
    cables: Sequence[DemoCable], *, now: datetime, embargoed: float = 0.03, seed: int = 2010
) -> tuple[list[dict], list[dict]]:
    """Parse each cable's text into a record: (first versions, second versions).

    A few cables (``embargoed``) are given a release time in the days after
    ``now``, so the demo shows staged releases ("released so far N / TOTAL").
    """
    from .parse import parse_text

    rng = random.Random(seed + 1)
    first, second = [], []
    for cable in cables:
        released = cable.released
        if rng.random() < embargoed:
            released = now + timedelta(days=rng.randrange(1, 30), hours=rng.randrange(24))
        record = parse_text(cable.text, reference_id=cable.reference_id)
        record["released"] = f"{released:%Y-%m-%d %H:%M}"
        record["source"] = {"path": f"demo:{cable.reference_id}", "format": "text"}
        first.append(record)
        if cable.revised_text and cable.revised_released:
            revised = parse_text(cable.revised_text, reference_id=cable.reference_id)
            when = max(released, cable.revised_released)
            revised["released"] = f"{when:%Y-%m-%d %H:%M}"
            revised["source"] = {"path": f"demo:{cable.reference_id}:2", "format": "text"}
            second.append(revised)
    return first, second


def write_jsonl(records: Iterable[dict], path: Path) -> Path:
    from .record import to_json

    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(to_json(record) + "\n")
    return path


def build_demo(
    engine: Any,
    index: Any = None,
    *,
    count: int = 300,
    seed: int = 2010,
    now: datetime | None = None,
    quiet: bool = True,
) -> dict[str, int]:
    """Generate ``count`` cables and ingest them (first versions, then revisions)."""
    from .db import utcnow
    from .ingest import ingest

    now = now or utcnow()
    cables = generate(count, seed)
    first, second = demo_records(cables, now=now, seed=seed)
    counts = {"cables": len(first), "revised": len(second)}
    with tempfile.TemporaryDirectory(prefix="cablegate-demo-") as tmp:
        for name, records in (("demo-1.jsonl", first), ("demo-2.jsonl", second)):
            if not records:
                continue
            summary = ingest([str(write_jsonl(records, Path(tmp) / name))], engine, index=index)
            counts[f"{name}:new"] = summary.new
            counts[f"{name}:new_revision"] = summary.new_revision
            counts[f"{name}:rejected"] = summary.rejected
    return counts


def main_text(count: int = 3, seed: int = 2010) -> str:
    """The first generated cables' texts (for a look: ``python -m cablegate.demo``)."""
    return "\n\n".join(c.text for c in generate(count, seed))


if __name__ == "__main__":  # pragma: no cover
    print(main_text())
    print(json.dumps({"cables": len(generate())}))
