"""Field parsing: from a RawCable's header/body texts and metadata to a Record.

``build_record(raw)`` fills every field of the record contract (record.FIELDS).
Metadata the source states outside the text (``raw.meta``) wins over values
derived from the text. The decisions on ambiguous fields are documented in
docs/parsing.md; the short version sits beside each helper below.

Robustness: every regex here is applied either to one line, to a bounded slice
(``_HEAD_LIMIT`` characters, one REF list, one Classified By sentence) or has
no nested unbounded quantifiers, so the work is linear in the input size; the
numbers of REF items and paragraphs are capped. Anything unexpected inside
the field parsers becomes a ``ParseError`` naming the input, never another
exception type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import islice

from . import ids
from .errors import ParseError
from .record import FIELDS, RawCable, Record

PARTIAL_NOTICE = "This record is a partial extract of the original cable."

_HEAD_LIMIT = 20_000  # characters of the body head searched for E.O./TAGS/SUBJECT/REF
_HEADER_LINES = 400  # transmission header lines scanned
_MAX_PARAGRAPHS = 2_000
_MAX_REF_ITEMS = 100
_MAX_LINE = 4_000  # longer lines are cut before a line regex looks at them
_MAX_PAGE_BREAKS = 1_000
_MAX_CANDIDATES = 20_000  # regex hits examined one by one (paragraph numbers, " OF nnn")
_MONTHS = {m: i for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_PRECEDENCE = {"Z": "FLASH", "O": "IMMEDIATE", "P": "PRIORITY", "R": "ROUTINE",
               "Y": "EMERGENCY", "W": "FLASH OVERRIDE"}

# --------------------------------------------------------------------------- regexes
# Transmission header lines (one line each, already stripped of ¶ and spaces).
_DTG_RE = re.compile(
    r"(?:([ZOPRYW])(?:\s([ZOPRYW]))?\s+)?(\d{6}\s?Z\s+[A-Za-z]{3}\s+\d{2})\b(?!\d)"
)
_DE_RE = re.compile(r"DE\s+(R[A-Z]{3,7}\s*#\s?\d{1,5}(?:/\d{1,3})?(?:\s+\d{7})?)")
_TRANSMISSION_RE = re.compile(r"([ZOPRYW])\1\s+R[A-Z]{3,7}\b")
_SECURITY_RE = re.compile(r"ZN[YR]\s+([UCSTE])\1{4}\b")
_FM_RE = re.compile(r"FM\s+(\S.*?)\s*$")
_DISTRIBUTION_RE = re.compile(r"(?:INFO|ACTION)\s+[A-Z]{1,6}-\d\d\b")
_ADDRESSEE_PRECEDENCE_RE = re.compile(r"\b(NIACT IMMEDIATE|FLASH|IMMEDIATE|PRIORITY|ROUTINE)\b")
_HEADER_NOISE_RE = re.compile(
    r"(?:VZCZC|ZZH\b|ZNY\b|ZNR\b|BT$|NNNN|PAGE\s+\d|-{5,}|[A-Z]{1,6}-\d\d\b|/\d{3}W\b)"
)

# Classification banner: level (plain or spaced) [extras] [SECTION nn OF nn] POST SERIAL.
_LEVEL = (
    r"(?P<level>T\s?O\s?P\s+S\s?E\s?C\s?R\s?E\s?T|(?:S(?=S))?S\s?E\s?C\s?R\s?E\s?T"
    r"|C\s?O\s?N\s?F\s?I\s?D\s?E\s?N\s?T\s?I\s?A\s?L"
    r"|U\s?N\s?C\s?L\s?A\s?S(?:\s?S\s?I\s?F\s?I\s?E\s?D)?"
    r"|L\s?I\s?M\s?I\s?T\s?E\s?D\s+O\s?F\s?F\s?I\s?C\s?I\s?A\s?L\s+U\s?S\s?E)"
)
_BANNER_RE = re.compile(
    _LEVEL + r"(?P<extra>(?:\s+(?:E\s?F\s?T\s?O|SENSITIVE|NOFORN|SIPDIS|EXDIS|NODIS|LIMDIS))*)"
    r"\s+(?:SECTION\s+\d{1,2}\s+OF\s+\d{1,2}\s+)?"
    r"(?P<post>[A-Z][A-Z.'-]*(?:\s[A-Z][A-Z.'-]*){0,3}?)\s+(?P<serial>\d{3,7})(?![\d/])"
)
_LEVEL_ONLY_RE = re.compile(_LEVEL + r"\b")
_CLASS_WORD_LINE = frozenset(
    {"UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "LIMITED OFFICIAL USE", "UNCLAS"}
)
_TRAILING_CLASS_RE = re.compile(
    r"\s{2,}(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)\s*$"
)

# Page breaks: "MOSCOW 00002205  002 OF 002", "MADRID 00000552 002.2 OF 011" (own line
# or, on reflowed pages, inside a line) and the NARA "PAGE 02 HARARE 06677 01 OF 03 291400Z".
_PAGE_LINE_RE = re.compile(
    r"\s*[A-Z][A-Z .'-]{0,30}?\s\d{8}\s+\d{3}(?:\.\d)?\s+OF\s+\d{3}\s*$"
)
_PAGE_OF_RE = re.compile(r" OF \d{3}(?!\d)")
_OLD_PAGE_FIND_RE = re.compile(r"\n[ \t]*(?:TO[ \t]+)?PAGE[ \t]+\d{1,3}[ \t]")
_OLD_PAGE_RE = re.compile(
    r"\s*(?:TO\s+)?PAGE\s+\d{1,3}\s+"
    r"(?:R[A-Z]{3,6}\d{2,5}\b[^\n]*"
    r"|[A-Z][A-Z]*(?:\s+[A-Z]+){0,2}\s+\d{3,6}\s+(?:\d{2}\s+OF\s+\d{2}\s+)?\d{6}Z\s?)"
)

# Body head.
_EO_RE = re.compile(r"E\s?[.,]?\s?[O0](?!\d)\s?\.?\s?:?\s?(1\d{4})\b\s*:?")
_DECL_DATE_RE = re.compile(
    r"(?:DECL|GDS|RDS|XGDS)\w*\s*:?\s*(?:ON\s+)?"
    r"(?:(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})|(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4}))(?!\d)",
    re.I,
)
# (head searches start with a literal: Python's re then skips ahead quickly)
_TAGS_RE = re.compile(r"(?:TAGS?|Tags)\b[ \t]*:?[ \t]*")
_TAG_SPLIT_RE = re.compile(r"[\s,;]+")
_TAG_LINE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,7}(?:[ ,]+[A-Z0-9][A-Z0-9-]{1,7}){0,2},?")
_TAG_TOKEN_RE = re.compile(r"[A-Z0-9][A-Z0-9-]*")
_SUBJECT_RE = re.compile(r"(?:SUBJECT|SUBJ|Subject)\b[ \t]*:?[ \t]*")
_SUBJECT_PART_RE = re.compile(r"[ \t]*\(PART \d+ OF \d+\)[ \t]*$")
_REF_RE = re.compile(r"(?:REF|Ref)(?:S|TEL|TELS|ERENCES?|s|tel)?\b[ \t]*:?[ \t]*")
_CLASSIFIED_RE = re.compile(r"(?i)classified\s+by\b\s*:?\s*")
_CLASSIFIED_END_RE = re.compile(
    r"(?i)[\s,;:]*(?:\bfor\s+)?(?:\breasons?\b|\bper\s+(?:e\.?o\.?|1\s*[.,/:]\s*[456]|section|reasons?)"
    r"|\bunder\b|\be\.?o\.?\s*1\d{4}|(?<![\d.])1\s*[.,/:]\s*[456](?!\d)|\(\s*[a-h]\s*\)|$)"
)
# (the look-behinds sit after the first character so that the regex opens
# with a literal or a character set, which re's search skips to quickly)
_SECTION_RE = re.compile(r"1(?<![\d.]1)\s*[.,/:]\s*([456])(?!\d)\.?")
# the sentence so far ends where the reason letters must follow on the next line
_REASON_PENDING_RE = re.compile(r"(?i)(?:1\s*[.,/:]\s*[456]\.?|reasons?:?|\band|[,&/])\s*$")
_BARE_REASONS_RE = re.compile(r"(?i)\breasons?\s*:?\s*")
_REASON_TOKEN_RE = re.compile(r"\s+|[()]|[A-Za-z]+|[,;&/+.:]|.", re.S)

# Paragraphs.
_PARA_RE = re.compile(
    r"[ \t]*(\d{1,3})[ \t]*(?:[.)]|\.\.)(?=[ \t(\n]|$)[ \t]*"
    r"(?:\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*)?"
)
# A paragraph number at a line start, searched over the whole text: the
# pattern opens with the literal newline so the scan is fast.
_PARA_START_RE = re.compile(
    r"\n(?P<blank>[ \t]*\n)?[ \t]*(\d{1,3})[ \t]*(?:[.)]|\.\.)(?=[ \t(\n]|$)[ \t]*"
    r"(?:\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*)?"
)
_MARK_ONLY_RE = re.compile(r"[ \t]*\((?P<mark>[^()\n]{1,40})\)[ \t.:-]*")
_MARKING_RE = re.compile(
    r"(?:TS|S|C|U|SBU|LOU|FOUO|SNF|CNF|CUI)(?:\s*(?:/{1,2}|-|,|\s)\s*[A-Z][A-Z ,/.-]{0,34})?"
)
_SUMMARY_START_RE = re.compile(
    r"(?i)[\s\-(=_]*(?:[IVX]{1,4}\.\s*)?(?:begin\s+)?(?:introduction\s+and\s+)?summary"
    r"(?:\s*/\s*introduction)?(?:\s+and\s+(?:comments?|action\s+requests?(?:ed)?"
    r"|introduction|recommendations?|background))?\s*(?:[:.\-]+|\n|$)"
)
_SUMMARY_HEADING_RE = re.compile(  # a "Summary" heading line ending a block
    r"(?i)(?:^|\n)[ \t=_-]*(?:[IVX]{1,4}\.[ \t]*|[A-Z]\.[ \t]*)?(?:introduction[ \t]+and[ \t]+)?"
    r"summary(?:[ \t]+and[ \t]+(?:comments?|introduction))?[ \t=_:-]*(?:\n[ \t=_-]*)*$"
)
_UNDERLINE_RE = re.compile(r"(?:[-=_][ \t]?){3,}")
_DASH_RUN_RE = re.compile(r"[-=_]{3,}")
_TITLE_UNDERLINE_RE = re.compile(  # "Military Modernization -----", "------- SUMMARY -------"
    r"(?:[-=_]{3,}[ \t]*)?(?P<title>[^\s=_-][^\n]{0,99}?)[ \t]+[-=_]{3,}[ \t]*"
)
_INLINE_HEADING_RE = re.compile(
    r"[ \t][-=_]{3,}[ \t]*(?P<title>[A-Za-z][^\n=_]{0,80}?)[ \t]+[-=_]{3,}[ \t]*$"
)
_SUMMARY_END_RE = re.compile(r"end\s+(?:of\s+)?summary\b")  # applied to lower-cased text

# Signers.
_NAME_WORD = r"(?:[A-Z][A-Za-z'\u2019-]+|Mc[A-Z][a-z]+|van|von|de|del|da|der|le|la)"
_SIGNER_RE = re.compile(rf"{_NAME_WORD}(?:\s{_NAME_WORD}){{0,2}}(?:/{_NAME_WORD}){{0,3}}")
_SIGNER_SPLIT_RE = re.compile(r"[\s/]+")
_NOT_SIGNERS = frozenset(
    "END TEXT COMMENT COMMENTS SUMMARY NOTE BT NNNN CABLE UNCLASSIFIED UNCLAS CONFIDENTIAL "
    "SECRET SIPDIS NOFORN SENSITIVE ACTION REQUEST MESSAGE THANKS QUOTE UNQUOTE BEGIN "
    "NONE TEXT. REF REFTEL PARA SUBJECT NNNN NNN".split()
)
# old telegrams sign at the end of the last line, after spaces or "END COMMENT."
_SIGNATURE_TAIL_RE = re.compile(
    r"(?:\S\s{3,}|[.!?\"'\u201d]\s{2}|(?i:\bend (?:of )?(?:comment|text|note|summary))\.?\s+)"
    r"([A-Z][A-Z'-]{1,24})$"
)
_SIGNATURE_AFTER_SENTENCE_RE = re.compile(r"[a-z][.!?\"'\u201d]\s+([A-Z][A-Z'-]{2,24})$")
_TRAILER_RE = re.compile(
    r"(?i)(?:BT|NNNN?.*|#\d+|\*\*\*.*|.*VZCZ.*|[A-Z][A-Z ]{1,30} -?\d{3,7}|[\W_]+|</?\w+>|"
    r"=*\s*CABLE ENDS?\s*=*|END (?:OF )?CABLE(?: TEXT)?|"
    r"\d{4}[A-Z]{3,10}\d{5} - Classification:.*|Declassified/Released .*|Systematic Review .*|"
    r"GP-\d|.*classified web ?site.*|[\w:/~#?=&%-]*\.[\w.:~#?=&%-]*/[\w.:/~#?=&%-]*[\"']?|"
    r"(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)(?:\s+NOFORN)?|"
    r"C O N F I D E N T I A L|S E C R E T|.*classified website.*|.*https?://.*|.*www\..*)\s*$"
)

# Caveats: handling and dissemination markings in the caption lines of the head.
# NOFORN SIPDIS EXDIS NODIS LIMDIS STADIS ORCON PROPIN NOCONTRACT FGI EFTO SBU SENSITIVE
# DISSENT CHANNEL CHEROKEE ROGER TERREP REL TO ... VISAS ... CORRECTED COPY, the
# alternatives grouped by first letter (in their order within a letter, so the
# same one wins): a position is tried against one group, not all of them.
_CAVEAT_RE = re.compile(
    r"(N(?:\s?O\s?F\s?O\s?R\s?N|\s?O\s?D\s?I\s?S|OCONTRACT)"
    r"|S(?:\s?I\s?P\s?D\s?I\s?S|\s?T\s?A\s?D\s?I\s?S|BU|ENSITIVE BUT UNCLASSIFIED|ENSITIVE)"
    r"|E(?:\s?X\s?D\s?I\s?S|FTO| F T O)|L\s?I\s?M\s?D\s?I\s?S|ORCON|PROPIN|FGI|DISSENT CHANNEL"
    r"|C(?:HEROKEE|\s?O\s?R\s?R\s?E\s?C\s?T\s?E\s?D\s+C\s?O\s?P\s?Y)"
    r"|R(?:OGER|EL TO [A-Z][A-Z, ]{1,40}?(?=\s*$|\s{2}))|TERREP"
    r"|VISAS (?:VIPER|DONKEY|MANTIS|CONDOR))"
)
# Caveats that are also ordinary words count only on a line made of caveats.
_CAVEATS_OWN_LINE = frozenset({"SENSITIVE", "ROGER", "CHEROKEE", "FGI", "TERREP"})
_HEAD_KEY_RE = re.compile(
    r"(?:E\s?[.,]?\s?[O0]\s?\.?\s?1\d{4}|TAGS|SUBJ|REF|Classified|CLASSIFIED)"
)

# REF items: letters "A." "A)" "(A)" open items; post + serial make a cited cable.
_REF_LETTER_RE = re.compile(
    r"(?:(?<=\s)|(?<=^)|(?<=[;,]))\(?([A-Z])(?:\s?\.(?=\s)|\s?\)(?=\s|[A-Z0-9]))"
)
# a line opening a lettered REF item with a cable reference: "(B) SAO PAULO 350;"
_REF_ITEM_LINE_RE = re.compile(
    r"\(?[A-Z]\s?[.)]\s*(?:\(?[A-Z]\)\s*)?(?:\d{2,4}\s+)?[A-Za-z][A-Za-z .'-]{1,30}\s\d"
)
# "07MOSCOW1234" in a REF (\b before the year, written after its first digit)
_REF_ID_RE = re.compile(r"(\d(?<!\w\d)\d)([A-Z]{3,25})(\d{1,7})\b")
_REF_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")
# Where a REF list or a Classified By sentence ends inside a line: the next
# element, or a paragraph marking followed by its text ("(C) Poloff discussed").
_INLINE_MARK = r"\((?:S|C|U|SBU|LOU)(?:/{1,2}[A-Z ]{1,12})?\)"
# (look-behinds after the first character, as in _SECTION_RE: "\d(?<!\S\d)" is
# "(?<!\S)\d", "\((?<![A-Za-z]\()" is "(?<![A-Za-z])\(")
_REF_STOP_RE = re.compile(
    r"[cC](?i:lassified\s+by)"
    rf"|\d(?<!\S\d)\d{{0,2}}\.[ \t]{{1,4}}{_INLINE_MARK}"
    rf"|\((?<![A-Za-z]\(){_INLINE_MARK[2:]}\s+(?!AND\b|OR\b)[A-Z]"
)
_SUBJECT_STOP_RE = re.compile(
    r"[cC](?i:lassified\s+by)|\sREF(?:S|TEL)?\s*:"
    rf"|\d(?<!\S\d)\d{{0,2}}\.[ \t]{{1,4}}{_INLINE_MARK}"
)
# Paragraphs run together on one line (flattened pages): "(d) 1. (C) Summary: ..."
_INLINE_PARA_RE = re.compile(r"\.[ \t]{1,4}\((?P<mark>[A-Za-z/ -]{1,20})\)[ \t]")


@dataclass
class _Header:
    """What the transmission header says."""

    dtg: str | None = None
    precedence_letters: list[str] = field(default_factory=list)
    transmission_precedence: str | None = None
    transmission_id: str | None = None
    station: str | None = None
    security_letter: str | None = None
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    info_recipients: list[str] = field(default_factory=list)


@dataclass
class _Banner:
    level: str
    extra: str
    post: str
    serial: str
    line_index: int
    glued: bool  # written at the end of another line (``AMCONSUL IZMIRUNCLAS ...``)


# --------------------------------------------------------------------------- entry


def build_record(raw: RawCable) -> Record:
    """The Cable record of one raw cable (see module docstring)."""
    where = {"path": raw.source.get("path"), "row": raw.source.get("row")}
    header = raw.header if isinstance(raw.header, str) else ""
    body = raw.body if isinstance(raw.body, str) else ""
    meta = raw.meta if isinstance(raw.meta, dict) else {}
    if not header.strip() and not body.strip() and not _text(meta.get("reference_id")):
        raise ParseError("no cable content: no header, no body and no reference ID", **where)
    try:
        return _build(raw, header, body, meta)
    except ParseError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as err:
        # A defect in a field parser must not take the whole run down with an
        # undocumented exception; report it as a rejected input instead.
        raise ParseError(f"field parsing failed ({type(err).__name__}: {err})", **where) from err


def _build(raw: RawCable, header: str, body: str, meta: dict) -> Record:
    warnings: list[str] = [str(w) for w in raw.warnings]
    header = _normalise_newlines(header)
    body = _normalise_newlines(body)
    header_lines = header.split("\n")
    body_top = body.split("\n", 40)[:40]  # the banner is in the first lines
    partial = bool(meta.get("partial")) or header.find(PARTIAL_NOTICE, 0, 400) >= 0 or (
        body.find(PARTIAL_NOTICE, 0, 2000) >= 0
    )

    # The transmission header: the header text, or (PDF, alx, text files) the
    # lines of the body before the classification banner.
    head_info = _scan_header(header_lines)
    banner = _find_banner(body_top)
    if banner is None and len(body_top) == 40:
        body_top = body.split("\n", 200)[:200]
        banner = _find_banner(body_top)
    if not _has_transmission(head_info):
        stop = banner.line_index + banner.glued if banner else min(len(body_top), 80)
        body_info = _scan_header(body_top[:stop])
        if _has_transmission(body_info):
            head_info = body_info
    if banner is None and header:
        # alx/flattened texts: the banner can be glued to the header's last line
        banner_in_header = _find_banner(header_lines)
        if banner_in_header is not None:
            banner = _Banner(banner_in_header.level, banner_in_header.extra,
                             banner_in_header.post, banner_in_header.serial, -1, False)

    start = 0
    if banner and banner.line_index > 0:
        start = sum(len(line) + 1 for line in body_top[: banner.line_index])
    text = _clean_text(body[start:], banner.post if banner else None)
    starts = _paragraph_starts(text)
    signers, content_end = _signers(text)
    first_para = starts[0].start() if starts else None
    if first_para is not None and first_para >= content_end:
        content_end = len(text)
    head = text[: min(first_para if first_para is not None else content_end, _HEAD_LIMIT)]

    record = dict.fromkeys(FIELDS)  # every field is set below (lists included)
    for name in _UNSET_LIST_FIELDS:
        record[name] = []
    record["partial"] = partial
    record["header"] = raw.header if isinstance(raw.header, str) else None
    record["body"] = raw.body if isinstance(raw.body, str) else None
    record["source"] = dict(raw.source)

    # --- header fields
    record["dtg"] = head_info.dtg
    record["transmission_id"] = head_info.transmission_id
    record["recipients"] = head_info.recipients
    record["info_recipients"] = head_info.info_recipients
    record["precedence"] = _precedence(head_info)

    # --- head of the body
    eo = _EO_RE.search(head)
    # the head elements' ends; the banner line itself is never running text
    ends: list[int] = [_line_end(head, 0)] if banner and banner.line_index >= 0 else []
    if eo:
        eol = _line_end(head, eo.end())
        ends.append(eol)
        record["declassify_on"] = _declassify_on(head[eo.start():eol], warnings)
    tags_text, tags_start, tags_end = _tags_text(head)
    if tags_end:
        ends.append(tags_end)
    subject, subject_start, subject_end = _subject(head)
    if subject_end:
        ends.append(subject_end)
    refs_raw, refs_start, refs_text_end = _ref_items(head)
    if refs_text_end:
        ends.append(refs_text_end)
    classified = _find_classified(head)
    classified_start = classified.start() if classified else None
    classified_text = ""
    if classified is None and first_para is not None:
        # "1. (U) Classified by ..." : the sentence opens the first paragraph
        tail = text[first_para:first_para + 1000]
        classified = _find_classified(tail)
        if classified:
            classified_text, _ = _sentence_after(tail, classified.end())
    elif classified is not None:
        classified_text, classified_end = _sentence_after(head, classified.end())
        ends.append(classified_end)
        if classified_text.endswith("...") and not _reasons(classified_text):
            # cut short on the page; a later copy of the head may have it whole
            again = _find_classified(head, classified_end)
            if again:
                text_again, end_again = _sentence_after(head, again.end())
                if _reasons(text_again):
                    classified_text = text_again
                    ends.append(end_again)
    record["classified_by"] = _classified_by(classified_text) if classified else None
    record["classification_reasons"] = _reasons(classified_text) if classified else []
    # caveats are read in the caption: from the banner to the first head element
    element_starts = [m for m in (eo and eo.start(), tags_start, subject_start, refs_start,
                                  classified_start) if m]
    caption_end = min(element_starts) if element_starts else 600
    record["caveats"] = _caveats(head[:caption_end], banner)

    # --- paragraphs, summary, signers
    preamble_start = max(ends) if ends else 0
    paragraphs, headings = _section_headings(
        _paragraphs(text, starts, preamble_start, content_end)
    )
    record["paragraphs"] = paragraphs
    record["signers"] = signers
    record["summary"] = _summary(paragraphs, headings)

    # --- identity and metadata (meta wins)
    _identity(record, meta, head_info, banner, warnings)
    record["subject"] = _text(meta.get("subject")) or subject
    meta_tags = meta.get("tags")
    record["tags"] = _tag_list(meta_tags) if meta_tags else _split_tags(tags_text)
    citing = record["reference_id"]
    record["references_raw"] = refs_raw
    record["references"] = _references(refs_raw, citing, _year_of(record))
    if not record["references"]:
        # what the source lists outside the text (cables.csv column), if anything
        record["references"] = _meta_references(
            meta.get("references") or meta.get("references_csv"), citing
        )
    record["classification"] = _text(meta.get("classification")) or _classification(
        banner, head_info, record["caveats"]
    )
    media = meta.get("media_urls")
    record["media_urls"] = [str(u) for u in media] if isinstance(media, list) else []
    record["warnings"] = warnings
    return record


# list fields of record.FIELDS that _build does not set (none today): kept empty lists
_UNSET_LIST_FIELDS = tuple(
    name for name, kind in FIELDS.items() if kind == "list" and name not in {
        "tags", "references", "references_raw", "recipients", "info_recipients", "signers",
        "classification_reasons", "caveats", "paragraphs", "media_urls", "warnings"}
)

# --------------------------------------------------------------------------- helpers


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _strip_pilcrow(line: str) -> str:
    """Lines in alx/PDF texts keep the site's ¶ marks: ``¶1. (C)``, ``¶E. O. 12958``."""
    if "\u00b6" in line[:8]:
        return line.replace("\u00b6", "", 1)
    return line


# --------------------------------------------------------------------------- header


def _has_transmission(info: _Header) -> bool:
    return bool(info.dtg or info.sender or info.transmission_id or info.recipients)


def _scan_header(lines: list[str]) -> _Header:
    """DTG, DE, FM, TO/INFO lines of an ACP-127 header (or a bare DTG header)."""
    info = _Header()
    mode: str | None = None  # "to" / "info" while inside an addressee list
    for raw_line in lines[:_HEADER_LINES]:
        line = raw_line.strip() if len(raw_line) < _MAX_LINE else raw_line[:_MAX_LINE].strip()
        if "\u00b6" in line:
            line = line.replace("\u00b6", "").strip()
        if not line:
            if info.recipients or info.info_recipients:
                mode = None
            continue
        # each kind of line opens with its own letters: test the first one
        # before the line itself (most lines are addressees)
        first = line[0]
        if mode:
            if first in _ENDS_FIRST and _addressee_ends(line):
                mode = None
                if _BANNER_RE.match(line) or _LEVEL_ONLY_RE.match(line):
                    break
            elif first not in "TI" or not line.startswith(("TO ", "INFO ")):
                _add_addressee(info, mode, line)  # a continuation line
                continue
        if first == "T" and line.startswith(_PARTIAL_PREFIX):
            continue
        if first == "D" and info.transmission_id is None and line.startswith("DE "):
            match = _DE_RE.match(line)
            if match:
                info.transmission_id = " ".join(match.group(1).split())
                info.station = match.group(1).split()[0].split("#")[0]
                continue
        if info.dtg is None and (first in _PRECEDENCE or first.isdecimal()):
            match = _DTG_RE.match(line)
            if match and match.group(3).split()[-2].upper() in _MONTHS:
                info.dtg = " ".join(match.group(3).split())
                info.precedence_letters = [g for g in match.group(1, 2) if g]
                mode = None
                continue
        if first == "F" and info.sender is None and line.startswith("FM "):
            info.sender = _FM_RE.match(line).group(1)
            mode = None
            continue
        if first in "TI" and line.startswith(("TO ", "INFO ")):
            if _DISTRIBUTION_RE.match(line):
                mode = None  # NARA "INFO LOG-00 NP-00 ..." distribution codes
                continue
            keyword, _, rest = line.partition(" ")
            mode = "to" if keyword == "TO" else "info"
            _add_addressee(info, mode, rest)
            continue
        if first not in _PRECEDENCE:
            continue  # neither a transmission line (OO RUEHWEB) nor a security line (ZNY)
        if info.transmission_precedence is None:
            match = _TRANSMISSION_RE.match(line)
            if match:
                info.transmission_precedence = match.group(1)
                continue
        if info.security_letter is None:
            match = _SECURITY_RE.match(line)
            if match:
                info.security_letter = match.group(1)
    return info


_PARTIAL_PREFIX = PARTIAL_NOTICE[:30]


def _addressee_ends(line: str) -> bool:
    """An addressee list ends at the body's first lines (E.O., TAGS, SUBJECT,
    the classification line) or at the trailer (BT, NNNN); the caller has
    checked that the line opens with one of ``_ENDS_FIRST``."""
    return bool(
        line.startswith(("E.O.", "EO ", "TAGS", "SUBJ", "SIPDIS", "BT", "NNNN", "XMT", "DE "))
        or _LEVEL_ONLY_RE.match(line)
        and (_BANNER_RE.match(line) or line.strip() in _CLASS_WORD_LINE)
    )


_ENDS_FIRST = frozenset("EeTSBNXDCUL")


def _add_addressee(info: _Header, mode: str, text: str) -> None:
    """One addressee as written (``RUEHC/SECSTATE WASHDC PRIORITY 4785``).

    A classification banner glued to the end of the last line (alx texts) is
    cut off; header noise (relay lines, distribution codes) is skipped.
    """
    text = text.strip()
    if "  " in text or "\t" in text:
        text = " ".join(text.split())
    if "UNCLAS" in text or "C O N" in text or "S E C" in text or "CONFIDENTIAL" in text or (
        "SECRET" in text or "LIMITED" in text
    ):
        glued = _BANNER_RE.search(text)
        if glued and glued.start() > 0:
            text = text[: glued.start()].strip()
    if not text or (text[0] in "VZBNP-/" or "-" in text[1:7]) and _HEADER_NOISE_RE.match(text):
        return  # (every noise form opens with one of those, or has "-" after 1-6 letters)
    target = info.recipients if mode == "to" else info.info_recipients
    if len(target) < 500:
        target.append(text)


def _precedence(info: _Header) -> str | None:
    """IMMEDIATE/PRIORITY/... from the DTG prosign (action precedence), else the
    transmission line, else the precedence word of the first TO addressee.
    NIACT IMMEDIATE when an action addressee line says so."""
    letter = info.precedence_letters[0] if info.precedence_letters else info.transmission_precedence
    name = _PRECEDENCE.get(letter) if letter else None
    words = None
    for addressee in info.recipients[:50]:
        match = _ADDRESSEE_PRECEDENCE_RE.search(addressee)
        if match:
            words = match.group(1)
            break
    if words == "NIACT IMMEDIATE" and name in (None, "IMMEDIATE"):
        return words
    return name or words


# --------------------------------------------------------------------------- banner


def _find_banner(lines: list[str]) -> _Banner | None:
    """The classification line that opens the body (``C O N F I D E N T I A L
    SECTION 01 OF 02 MOSCOW 002205``), searched in the first lines."""
    for index, raw_line in enumerate(lines[:150]):
        line = _strip_pilcrow(raw_line)[:300]
        stripped = line.strip()
        if not stripped or stripped[0] not in "CSULT":
            # glued banner at the end of an addressee line (alx texts)
            if "UNCLAS" in line or "C O N F" in line or "S E C R" in line:
                match = _BANNER_RE.search(line)
                if match and match.start() > 0 and not line[: match.start()].strip().startswith(
                    ("PAGE", "TO PAGE")
                ):
                    return _banner_from(match, index, glued=True)
            continue
        match = _BANNER_RE.match(stripped)
        if match:
            return _banner_from(match, index)
    return None


_LEVEL_NAMES = {"UNCLAS": "UNCLASSIFIED", "LIMITEDOFFICIALUSE": "LIMITED OFFICIAL USE",
                "TOPSECRET": "TOP SECRET"}


def _banner_from(match: re.Match[str], index: int, glued: bool = False) -> _Banner:
    level = match.group("level").replace(" ", "")
    level = _LEVEL_NAMES.get(level, level)
    extra = " ".join(match.group("extra").split())
    post = " ".join(match.group("post").split())
    return _Banner(level, extra, post, match.group("serial"), index, glued)


def _classification(banner: _Banner | None, info: _Header, caveats: list[str]) -> str | None:
    """The classification a text-only source states, in the site's vocabulary:
    the banner level (else the ZNY/ZNR security line), ``//NOFORN`` when the
    cable carries NOFORN, ``UNCLASSIFIED//FOR OFFICIAL USE ONLY`` for an
    UNCLAS SENSITIVE (SBU) cable — the convention of the Cablegate site."""
    level = banner.level if banner else None
    if level is None and info.security_letter:
        level = {"U": "UNCLASSIFIED", "C": "CONFIDENTIAL", "S": "SECRET",
                 "T": "TOP SECRET", "E": "UNCLASSIFIED"}.get(info.security_letter)
    if level is None:
        return None
    if level == "UNCLASSIFIED" and ("SENSITIVE" in caveats or "SBU" in caveats):
        return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    if level in ("CONFIDENTIAL", "SECRET") and "NOFORN" in caveats:
        return f"{level}//NOFORN"
    return level


# --------------------------------------------------------------------------- page breaks


def _clean_text(text: str, post: str | None) -> str:
    """The body text with page-break lines removed and ¶ marks dropped (the
    body itself stays as published; this copy is what paragraphs, subject and
    REF lists are read from, so a page break never splits them)."""
    if "\u00b6" in text:
        text = text.replace("\u00b6", "")
    if " \n" in text:
        # the spaces that end lines (most 2011-04 lines have one; the snapshots of
        # a cable differ in them): a few C-speed passes, rarely a line-by-line one
        # (split + join is replace(" \n", "\n") in one pass less)
        for _ in range(3):
            text = "\n".join(text.split(" \n"))
            if " \n" not in text:
                break
        else:
            text = "\n".join(line.rstrip(" ") for line in text.split("\n"))
    if text.find("\\", 0, 4000) >= 0 and text.count("\\\n", 0, 4000) > 5:
        # a tab-separated dump with backslash-continued lines (2011-04 08GENEVA256);
        # the one-character find (memchr) spares the slower two-character count
        text = text.replace("\\\n", "\n")
    cuts: list[tuple[int, int, str]] = _modern_page_breaks(text, post)
    if "PAGE" in text:
        cuts += _old_page_breaks(text)
    if not cuts:
        return text
    cuts.sort()
    pieces: list[str] = []
    position = 0
    for start, end, replacement in cuts:
        if start < position:
            continue  # overlapping cut: the first one wins
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _modern_page_breaks(text: str, post: str | None) -> list[tuple[int, int, str]]:
    """``MOSCOW 00002205  002 OF 002`` on its own line (removed with its line)
    or, on reflowed pages, inside a line (replaced by one space)."""
    cuts: list[tuple[int, int, str]] = []
    for seen, match in enumerate(_page_of_matches(text)):
        if seen >= _MAX_CANDIDATES:
            break
        back_start = _page_serial_start(text, match.start())
        if back_start < 0:
            continue
        line_start = text.rfind("\n", max(0, back_start - 80), back_start) + 1
        if line_start == 0 and back_start > 80:
            line_start = back_start - 80  # a very long line: look only nearby
        line_end = text.find("\n", match.end(), match.end() + 80)
        line_end = len(text) if line_end < 0 else line_end
        if _PAGE_LINE_RE.match(text, line_start, line_end):
            cuts.append((line_start, min(line_end + 1, len(text)), ""))
        else:
            cuts.append(_inline_page_cut(text, line_start, back_start, match.end(), post))
        if len(cuts) >= _MAX_PAGE_BREAKS:
            break
    return cuts


def _page_of_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_PAGE_OF_RE`` in order. ``str.find`` skips to each
    `` OF `` several times faster than the regex's own scan; a text with many
    `` OF `` not followed by a page number goes back to the regex scan."""
    find = text.find
    match_at = _PAGE_OF_RE.match
    position = find(" OF ")
    misses = 0
    while position >= 0:
        match = match_at(text, position)
        if match:
            yield match
        else:
            misses += 1
            if misses > 64:  # upper-case prose: let the regex skip the non-hits
                yield from _PAGE_OF_RE.finditer(text, position + 1)
                return
        position = find(" OF ", position + 1)


def _page_serial_start(text: str, of_start: int) -> int:
    """Start of ``00002205  002`` (8-digit serial, page number, optional ``.2``)
    just before `` OF nnn``, or -1. Checked by hand: cheaper than a regex on
    texts full of `` OF ``."""
    j = of_start
    if j >= 2 and text[j - 2] == "." and text[j - 1].isdigit():
        j -= 2
    if j < 13 or not text[j - 3:j].isdigit():
        return -1
    j -= 3
    k = j
    while k > 0 and j - k < 6 and text[k - 1] in " \t":
        k -= 1
    if k == j or k < 8 or not text[k - 8:k].isdigit() or (k > 8 and text[k - 9].isdigit()):
        return -1
    return k - 8


def _inline_page_cut(text: str, line_start: int, serial_start: int, end: int,
                     post: str | None) -> tuple[int, int, str]:
    """The cut for a page break inside a line: the post name before the serial
    (the banner's spelling, else one upper-case word) through ``nnn OF nnn``."""
    before = text[max(line_start, serial_start - 60):serial_start].rstrip()
    base = serial_start - len(text[max(line_start, serial_start - 60):serial_start]) + len(before)
    if post and before.endswith(post):
        cut = base - len(post)
    else:
        space = before.rfind(" ")
        word = before[space + 1:]
        cut = base - len(word) if word.isupper() else serial_start
    while end < len(text) and end - cut < 200 and text[end] in " \t":
        end += 1
    return cut, end, ""


def _old_page_breaks(text: str) -> list[tuple[int, int, str]]:
    """``PAGE 02 HARARE 06677 01 OF 03 291400Z`` (NARA and PlusD texts): the
    prefix goes, with the classification lines printed above it and the blank
    lines around it; text after the prefix on the same line stays."""
    cuts: list[tuple[int, int, str]] = []
    if text.startswith(("PAGE", " ", "TO ")):
        text = "\n" + text  # so the first line is found like the others
        shift = 1
    else:
        shift = 0
    for found in _OLD_PAGE_FIND_RE.finditer(text):
        line_start = found.start() + 1
        match = _OLD_PAGE_RE.match(text, line_start, line_start + _MAX_LINE)
        if match is None:
            continue
        start = _page_classification_start(text, line_start)
        end = match.end()
        line_end = text.find("\n", end, end + _MAX_LINE)
        if not text[end:line_end if line_end >= 0 else end + _MAX_LINE].strip():
            while end < len(text) and end - match.end() < 200 and text[end] in " \t\n":
                end += 1
        cuts.append((max(start - shift, 0), end - shift, "\n" if start - shift > 0 else ""))
        if len(cuts) >= _MAX_PAGE_BREAKS:
            break
    return cuts


def _page_classification_start(text: str, line_start: int) -> int:
    """Where the classification lines (and blank lines) above a ``PAGE nn``
    line begin; a classification word ending the line above is cut too."""
    start = line_start
    for _ in range(6):
        if start <= 0:
            return 0
        previous_start = text.rfind("\n", max(0, start - 1 - _MAX_LINE), start - 1) + 1
        if previous_start == 0 and start - 1 > _MAX_LINE:
            return start - 1  # a very long line above: not a classification line
        previous = text[previous_start:start - 1].strip()
        if previous and previous not in _CLASS_WORD_LINE:
            trailing = _TRAILING_CLASS_RE.search(text, previous_start, start - 1)
            return trailing.start() if trailing else start - 1
        start = previous_start
    return start


# --------------------------------------------------------------------------- head fields


def _keyword_matches(regex: re.Pattern[str], spellings: tuple[str, str], text: str,
                     start: int = 0) -> Iterator[re.Match[str]]:
    """``regex.finditer(text, start)`` for a keyword regex whose matches open
    with one of two spellings (``TAG``/``Tags``, ``SUBJ``/``Subject``,
    ``REF``/``Ref``): ``str.find`` skips to each spelling much faster than the
    regex's own scan, which stops at every capital letter of the text."""
    first, second = spellings
    at_first = text.find(first, start)
    at_second = text.find(second, start)
    while at_first >= 0 or at_second >= 0:
        position = at_second if at_first < 0 or 0 <= at_second < at_first else at_first
        match = regex.match(text, position)
        if match:
            yield match
            position = match.end()
        else:
            position += 1
        if 0 <= at_first < position:
            at_first = text.find(first, position)
        if 0 <= at_second < position:
            at_second = text.find(second, position)


def _tags_keyword(text: str, start: int = 0) -> re.Match[str] | None:
    """The first TAGS keyword not glued to a preceding letter."""
    for match in _keyword_matches(_TAGS_RE, ("TAG", "Tags"), text, start):
        if match.start() == 0 or not text[match.start() - 1].isalpha():
            return match
    return None


def _find_classified(text: str, position: int = 0) -> re.Match[str] | None:
    """``Classified By:`` (any case), not the tail of DECLASSIFIED/UNCLASSIFIED."""
    lower = text.find("lassified", position)
    upper = text.find("LASSIFIED", position)
    while lower >= 0 or upper >= 0:
        found = upper if lower < 0 or 0 <= upper < lower else lower
        start = found - 1
        if start >= 0 and (start == 0 or not text[start - 1].isalpha()):
            match = _CLASSIFIED_RE.match(text, start)
            if match:
                return match
        position = found + 9
        # the next occurrence of each spelling (one found further on still is)
        if 0 <= lower < position:
            lower = text.find("lassified", position)
        if 0 <= upper < position:
            upper = text.find("LASSIFIED", position)
    return None


def _find_ref(head: str) -> re.Match[str] | None:
    """A REF line (``REF:``, ``REFS:``, ``REFTEL``, ``Ref:``) at a line start,
    or ``REF:`` inside a line after a space or a lower-case letter."""
    for match in _keyword_matches(_REF_RE, ("REF", "Ref"), head):
        before = head[head.rfind("\n", 0, match.start()) + 1:match.start()]
        if not before.strip():
            return match
        if ":" in match.group(0) and (before[-1] == " " or before[-1].islower()):
            return match
    return None


def _declassify_on(eo_line: str, warnings: list[str]) -> str | None:
    """ISO date of ``E.O. 12958: DECL: 05/11/2017`` (also ``yyyy/mm/dd``, two-digit
    years, ``GDS 8/12/85``); None for N/A, OADR, X1, 25X1 and other non-dates."""
    match = _DECL_DATE_RE.search(eo_line[:200])
    if not match:
        return None
    if match.group(1):
        year, month, day = match.group(1, 2, 3)
    else:
        month, day, year = match.group(4, 5, 6)
    year_n = int(year)
    if len(year) == 2:
        year_n += 1900 if year_n >= 50 else 2000
    elif len(year) == 3:
        warnings.append(f"declassify_on: unreadable date {match.group(0).strip()!r}")
        return None
    try:
        return date(year_n, int(month), int(day)).isoformat()
    except ValueError:
        warnings.append(f"declassify_on: invalid date {match.group(0).strip()!r}")
        return None


def _tags_text(head: str) -> tuple[str, int, int]:
    """The text of the TAGS line, continued on the next lines when it ends
    with a comma, or when it is empty and the tags follow one per line (the
    PDF texts: ``TAGS:`` then ``PGOV``, blank, ``PREL``, blank ...)."""
    match = _tags_keyword(head)
    while match and not match.group(0).startswith(("TAGS", "Tags")) and head[
        head.rfind("\n", 0, match.start()) + 1:match.start()
    ].strip():
        # "TAG" (singular) only where it opens a line: not "CORRECTED COPY - TAG"
        match = _tags_keyword(head, match.end())
    if not match:
        return "", 0, 0
    end = _line_end(head, match.end())
    text = head[match.end():end]
    subject = _subject_keyword(text)
    if subject:  # flattened: "TAGS: PREL PGOV SUBJECT: ..."
        return text[: subject.start()], match.start(), match.end() + subject.start()
    one_per_line = not text.strip()
    lines_taken = 0
    while (one_per_line or text.rstrip().endswith(",")) and lines_taken < 40:
        if end >= len(head):
            break
        nxt = _line_end(head, end + 1)
        line = head[end + 1:nxt].strip()
        if _SUBJECT_RE.match(line) or _HEAD_KEY_RE.match(line):
            break
        if one_per_line and line and not _TAG_LINE_RE.fullmatch(line):
            break
        text += " " + line
        end = nxt
        lines_taken += 1
        if not one_per_line:
            break
    return text, match.start(), end


def _split_tags(text: str) -> list[str]:
    """TAGS split on spaces and commas, as the Cablegate site links them."""
    tags: list[str] = []
    for token in _TAG_SPLIT_RE.split(text.strip()):
        token = token.strip(".:()")
        if token and _is_tag_token(token) and token not in tags:
            tags.append(token)
        if len(tags) >= 60:
            break
    return tags


@lru_cache(maxsize=4096)
def _is_tag_token(token: str) -> bool:
    """A TAGS value (``PGOV``, ``KPAO``, ``US``): a small vocabulary, cached."""
    return bool(_TAG_TOKEN_RE.fullmatch(token))


def _tag_list(value: object) -> list[str]:
    if isinstance(value, str):
        return _split_tags(value)
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            text = _text(item)
            if text and text not in out:
                out.append(text)
        return out
    return []


def _subject(head: str) -> tuple[str | None, int, int]:
    """SUBJECT text, continuation lines joined with single spaces; it ends at a
    blank line or the next head element (REF, Classified By, a paragraph),
    also when that element follows on the same line (flattened pages)."""
    match = _subject_keyword(head)
    if not match:
        return None, 0, 0
    end = _line_end(head, match.end())
    lines = 0
    while end < len(head) and lines < 8:
        nxt = _line_end(head, end + 1)
        line = head[end + 1:nxt]
        stripped = line.strip()
        if not stripped and not head[match.end():end].strip() and lines < 2:
            end, lines = nxt, lines + 1  # "SUBJECT:" alone, the title after a blank line
            continue
        if not stripped and _SUBJECT_PART_RE.match(head, nxt + 1, _line_end(head, nxt + 1)):
            end = _line_end(head, nxt + 1)  # "(PART 2 OF 2)" after a blank line
            break
        if (not stripped or _HEAD_KEY_RE.match(stripped) or _PARA_RE.match(line)
                or stripped.startswith(("(", "-", "=", "_")) or _CLASSIFIED_RE.match(stripped)):
            break
        end = nxt
        lines += 1
    stop = _SUBJECT_STOP_RE.search(head, match.end(), end)
    if stop:
        end = stop.start()
    text = " ".join(head[match.end():end].split()).strip(" :")
    return (text or None), match.start(), end


def _subject_keyword(text: str, start: int = 0) -> re.Match[str] | None:
    """``SUBJECT:`` opening a line, or after a space with its colon (flattened
    heads); not ``COPY//SUBJECT LINE`` of a correction notice."""
    for match in _keyword_matches(_SUBJECT_RE, ("SUBJ", "Subject"), text, start):
        before = text[text.rfind("\n", 0, match.start()) + 1:match.start()]
        if not before.strip() or before[-1] in " \t" and ":" in match.group(0):
            return match
    return None


def _sentence_after(text: str, start: int) -> tuple[str, int]:
    """The Classified By sentence (up to three non-blank lines: it wraps) and
    the offset where it ends. It stops at the first line that ends with a
    full stop once the reasons have been read."""
    out: list[str] = []
    pos = start
    stop = start
    while pos < len(text) and len(out) < 3:
        end = _line_end(text, pos)
        line = text[pos:end]
        stripped = line.strip()
        if out and not _REASON_PENDING_RE.search(out[-1]) and (
            _PARA_RE.match(line) or _HEAD_KEY_RE.match(stripped)
            or _MARK_ONLY_RE.match(line) or _SUBJECT_RE.match(stripped)
        ):
            break
        if stripped:
            out.append(stripped)
            stop = end
            if _SECTION_RE.search(stripped) and stripped.endswith((".", ")")):
                break
            if stripped.endswith("..."):
                break  # cut short on the page: what follows is not this sentence
        elif out and not _REASON_PENDING_RE.search(out[-1]) and _SECTION_RE.search(" ".join(out)):
            break  # a blank line after the reasons ends the sentence
        pos = end + 1
    # flattened texts: the first paragraph follows on the same line, "... (d). (C) Poloff"
    inline = _REF_STOP_RE.search(text, start + 1, stop)
    if inline and not inline.group(0).lower().startswith("classified"):
        stop = inline.start()
        return " ".join(text[start:stop].split())[:600], stop
    return " ".join(out)[:600], stop


_ABBREVIATIONS = ("Jr.", "Sr.", "Jr", "Sr", "Dr.", "St.", "Amb.", "a.i.", "D.C.")


def _classified_by(text: str) -> str | None:
    """Who classified the cable: the Classified By sentence up to the reasons."""
    end = _CLASSIFIED_END_RE.search(text)
    who = text[: end.start()] if end else text
    who = " ".join(who.split()).strip(" ,;:")
    if who[:14].lower() == "classified by ":  # "Classified By: Classified by X"
        who = who[14:].lstrip(" :")
    if who.endswith("...") and end and end.start() >= len(text.rstrip()) - 1:
        return who  # cut short on the page ("A..."): kept as published
    while who.endswith(".") and not who.endswith(_ABBREVIATIONS):
        who = who[:-1].rstrip(" ,;:")
    return who or None


def _reasons(text: str) -> list[str]:
    """Classification reasons normalised to ``1.4(b)``: sections 1.4/1.5 with
    any separator (``1,4`` ``1/4`` ``1:4``) and the letters that follow them
    in any written form; bare letters (``reasons b, d``) give ``(b)``."""
    found: list[tuple[str, str]] = []
    sections = list(_SECTION_RE.finditer(text))
    for index, match in enumerate(sections):
        stop = sections[index + 1].start() if index + 1 < len(sections) else len(text)
        section = "1." + match.group(1)
        found += [(section, letter) for letter in _reason_letters(text[match.end():stop])]
    if not sections:
        bare = _BARE_REASONS_RE.search(text)
        if bare:
            found += [("", letter) for letter in _reason_letters(text[bare.end():])]
    unique = sorted(set(found))
    return [f"{section}({letter})" for section, letter in unique]


def _reason_letters(text: str) -> list[str]:
    """Letters a-h following a section number, up to the first other word."""
    letters: list[str] = []
    for token in _REASON_TOKEN_RE.findall(text[:120]):
        if token.isspace() or token in "()," or token in ("&", "/", "+", ";"):
            continue
        low = token.lower()
        if low in ("and", "or"):
            continue
        if token in (".", ":"):
            if letters:
                break
            continue
        if len(token) == 1 and "a" <= low <= "h":
            letters.append(low)
            continue
        break
    return letters


def _caveats(caption: str, banner: _Banner | None) -> list[str]:
    """NOFORN, SIPDIS, EXDIS, SENSITIVE ... written in the banner or the caption
    lines before the E.O./TAGS/SUBJECT lines (never the running text). Words
    that are also ordinary words (SENSITIVE, ROGER ...) count only on a line
    made of caveats, or in the banner line."""
    found: list[str] = []
    if banner and banner.extra:
        for match in _CAVEAT_RE.finditer(banner.extra):
            _add_caveat(found, match.group(1))
    caption = caption[:6000]
    for match in _CAVEAT_RE.finditer(caption):
        # "001352SIPDISE.O." (flattened) counts; "NOFORNS" or "xSBU" does not
        if match.start() and caption[match.start() - 1].isalpha() or (
            caption[match.end():match.end() + 1].islower()
        ):
            continue
        value = _normalise_caveat(match.group(1))
        if value in _CAVEATS_OWN_LINE:
            line_start = caption.rfind("\n", 0, match.start()) + 1
            line_end = _line_end(caption, match.end())
            line = caption[line_start:line_end].strip()
            if _CAVEAT_RE.sub("", line).strip(" ,;:/-.") and not _BANNER_RE.match(line):
                continue
        _add_caveat(found, value)
    return found


def _normalise_caveat(text: str) -> str:
    text = " ".join(text.split())
    compact = text.replace(" ", "")
    if compact in ("NOFORN", "SIPDIS", "EXDIS", "NODIS", "LIMDIS", "STADIS", "EFTO"):
        return compact
    if compact == "CORRECTEDCOPY":
        return "CORRECTED COPY"
    if text == "SENSITIVE BUT UNCLASSIFIED":
        return "SBU"
    return text


def _add_caveat(found: list[str], value: str) -> None:
    value = _normalise_caveat(value)
    if value and value not in found and len(found) < 20:
        found.append(value)


# --------------------------------------------------------------------------- REF


def _ref_items(head: str) -> tuple[list[str], int, int]:
    """Each REF item as written (``A. MOSCOW 2205``), whitespace collapsed,
    and the offset where the REF list ends."""
    match = _find_ref(head)
    if not match:
        return [], 0, 0
    end = _ref_block_end(head, match.end())
    stop = _ref_stop(head, match.end(), end)
    if stop is not None:
        end = stop
    block = " ".join(head[match.end():end].split())[:4000]
    if not block:
        return [], match.start(), end
    letters = list(_REF_LETTER_RE.finditer(block))
    items: list[str] = []
    if letters and letters[0].start() == 0:
        for index, letter in enumerate(letters[:_MAX_REF_ITEMS]):
            stop_at = letters[index + 1].start() if index + 1 < len(letters) else len(block)
            item = block[letter.start():stop_at].strip(" ;,")
            # "A. A) 2007 SAN JOSE 2070": the letter written twice is one item
            if item and len(item) <= 3 and index + 1 < len(letters):
                continue
            if item:
                items.append(item)
    else:
        items = [part.strip() for part in block.split(";") if part.strip()][:_MAX_REF_ITEMS]
    return items, match.start(), end


def _ref_stop(head: str, start: int, end: int) -> int | None:
    """Where a REF list ends inside its lines: at Classified By or at a
    paragraph marking -- but ``(C)`` after items ``(A)`` and ``(B)`` is the
    next item's letter, not a CONFIDENTIAL marking."""
    position = start
    for _ in range(50):
        stop = _REF_STOP_RE.search(head, position, end)
        if stop is None:
            return None
        text = stop.group(0)
        if text.startswith("(") and len(text) > 2 and text[2] == ")":
            letters = [m.group(1) for m in _REF_LETTER_RE.finditer(head, start, stop.start())]
            if letters and ord(text[1]) == ord(letters[-1]) + 1:
                position = stop.end()
                continue
        return stop.start()
    return None


def _ref_block_end(head: str, start: int) -> int:
    """Where the REF list ends: its line and continuation lines. A blank line,
    a paragraph or a marking ends it, except for a line that opens the next
    lettered item (``(B) SAO PAULO 350``, ``C. ROME 310``)."""
    pos = start
    end = start
    count = 0
    while pos <= len(head) and count < 40:
        line_end = _line_end(head, pos)
        line = head[pos:line_end]
        stripped = line.strip()
        next_item = bool(_REF_ITEM_LINE_RE.match(stripped))
        if count and not next_item and (
            _PARA_RE.match(line) or _HEAD_KEY_RE.match(stripped)
            or _MARK_ONLY_RE.match(line) or stripped.startswith(("--", "=="))
        ):
            break
        if not stripped:
            nxt = head[line_end + 1:_line_end(head, line_end + 1)].strip()
            if end > start and not _REF_ITEM_LINE_RE.match(nxt):
                break
        else:
            end = line_end
        if line_end >= len(head):
            break
        pos = line_end + 1
        count += 1
    return end


def _references(items: list[str], citing: str | None, year: str | None) -> list[str]:
    """Canonical IDs of the cables cited in the REF items, in order, deduplicated,
    without the cable itself. A reference written without a year is taken to
    be of the citing cable's year (the convention of the heuer/cablemap library)."""
    out: list[str] = []
    for item in items:
        for ref in _cables_in(item, year):
            if ref != citing and ref not in out:
                out.append(ref)
    return out


def _cables_in(item: str, default_year: str | None) -> list[str]:
    """``06 STATE 12345`` / ``MOSCOW 2205`` / ``07MOSCOW1234`` in one REF item:
    a serial after a post name known to the reference tables (up to four words,
    longest first), with a two- or four-digit year before the name if written."""
    item = item[:600]
    found: list[str] = []
    for match in _REF_ID_RE.finditer(item):
        ref = ids.make_id(match.group(1), match.group(2), match.group(3))
        if ref:
            found.append(ref)
    tokens = _REF_TOKEN_RE.findall(item)
    used: set[str] = set()  # serials already read: "TEHRAN 1091: TEHRAN 263" has no year
    for index, token in enumerate(tokens):
        if index == 0 or not token.isdigit() or len(token) > 7:
            continue
        first = index
        while first > 0 and index - first < 4 and not tokens[first - 1].isdigit():
            first -= 1
        for begin in range(first, index):
            name = "".join(tokens[begin:index])
            if len(name) < 2 or not name[0].isupper():
                continue
            code = ids.resolve_code(name)
            if code is None:
                continue
            year = default_year
            before = tokens[begin - 1] if begin > 0 else ""
            if before.isdigit() and before not in used and (
                len(before) == 2 or len(before) == 4 and before[:2] in ("19", "20")
            ):
                year = before[-2:]
            used.add(token)
            ref = ids.make_id(year, code, token)
            if ref:
                found.append(ref)
            break
    return found


def _meta_references(value: object, citing: str | None) -> list[str]:
    items = value.split("|") if isinstance(value, str) else value if isinstance(value, list) else []
    out: list[str] = []
    for item in items:
        text = _text(item)
        if not text:
            continue
        ref, _ = ids.canonical_id(text)
        if ref != citing and ref not in out:
            out.append(ref)
    return out


# --------------------------------------------------------------------------- paragraphs


def _paragraph_starts(text: str) -> list[re.Match[str]]:
    """Line-start paragraph numbers that open paragraphs: the first one is
    ``1.`` or carries a classification marking; then see ``_accept_number``.
    Most cables number their lines 1, 2, 3 ... with nothing else at a line
    start: then every candidate opens a paragraph, checked in one comparison."""
    # a real cable has a few hundred numbered lines at most
    matches = list(islice(_PARA_START_RE.finditer(text), _MAX_CANDIDATES))
    numbers = [match.group(2) for match in matches]
    if numbers == _COUNTING[:len(numbers)]:
        return matches[:_MAX_PARAGRAPHS]
    starts: list[re.Match[str]] = []
    last = 0
    last_marked = False
    for match in matches:
        number_text, mark = match.group(2, "mark")
        number = int(number_text)
        if not starts:
            if number == 1 or _marking(mark):
                starts.append(match)
                last = number
                last_marked = bool(_marking(mark))
            continue
        if number == last + 1 or _accept_number(number, last, mark, last_marked, match, text):
            starts.append(match)
            last = number
            last_marked = bool(_marking(mark))
            if len(starts) >= _MAX_PARAGRAPHS:
                break
    return starts


_COUNTING = [str(number) for number in range(1, 1000)]  # "1" ... "999" (\d{1,3})


def _paragraphs(
    text: str, starts: list[re.Match[str]], preamble_start: int, content_end: int
) -> list[dict]:
    """Numbered paragraphs ``{number, marking, text}``; text before the first
    numbered paragraph and after the head (SUBJECT/REF/Classified By) becomes
    unnumbered paragraphs; the signer and trailer lines are left out."""
    if not starts:
        return _inline_paragraphs(text[preamble_start:content_end])[:_MAX_PARAGRAPHS]
    paragraphs = _unnumbered(text[preamble_start:starts[0].start()])
    stops = [match.start() for match in starts]
    stops[0:1] = []
    stops.append(content_end)
    for match, stop in zip(starts, stops, strict=True):
        number, mark = match.group(2, "mark")
        if mark:
            marking = _marking(mark)
            # "(A) text" after the number is not a classification marking: keep it
            cut = match.end() if marking else match.start("mark") - 1
        else:
            marking = None
            cut = match.end()
        # the text without surrounding blank lines (the spaces that end lines
        # are already gone: _clean_text)
        paragraphs.append({"number": number, "marking": marking, "text": text[cut:stop].strip()})
    return paragraphs


def _inline_paragraphs(text: str) -> list[dict]:
    """Paragraphs of a text whose numbered paragraphs run together inside lines
    (``... (d) 1. (C) Summary: ... End Summary.  2. (U) Saleh ...``): numbers
    must run 1, 2, 3 ... with a valid marking; otherwise blank-line blocks."""
    starts: list[tuple[int, int, str, str | None]] = []  # start, end, number, marking
    for seen, match in enumerate(_INLINE_PARA_RE.finditer(text)):
        if seen >= _MAX_CANDIDATES:
            break
        # the paragraph number is written just before ". (C)", after a space
        number = str(len(starts) + 1)
        begin = match.start() - len(number)
        if text[begin:match.start()] != number or (begin > 0 and not text[begin - 1].isspace()):
            continue
        marking = _marking(match.group("mark"))
        if marking:
            starts.append((begin, match.end(), number, marking))
            if len(starts) >= _MAX_PARAGRAPHS:
                break
    if not starts:
        return _unnumbered(text)
    paragraphs = _unnumbered(text[: starts[0][0]])
    for index, (_, end, number, marking) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        paragraphs.append({"number": number, "marking": marking, "text": _tidy(text[end:stop])})
    return paragraphs


def _accept_number(number: int, last: int, mark: str | None, last_marked: bool,
                   match: re.Match[str], text: str) -> bool:
    """A line opening with ``N.`` starts a new paragraph when N follows the last
    number; a small gap or a repeated number only with a marking, or after a
    blank line in a cable whose paragraphs carry no markings -- so numbered
    lists inside a paragraph stay in it."""
    if number == last + 1:
        return True
    if last < number <= last + 3 or number == last:
        # a repeated number: the author's slip
        return _is_marking(mark) or not last_marked and _blank_before(match, text)
    if last < number <= last + 10:
        return _is_marking(mark)  # lost paragraphs (partial extracts, truncated sections)
    return False


def _blank_before(match: re.Match[str], text: str) -> bool:
    """The numbered line found by ``_PARA_START_RE`` follows a blank line."""
    if match.group("blank") is not None:
        return True
    return not text[text.rfind("\n", 0, match.start()) + 1:match.start()].strip()


@lru_cache(maxsize=4096)
def _is_marking(mark: str | None) -> bool:
    """The parentheses after a paragraph number hold a marking as written."""
    return bool(mark and _MARKING_RE.fullmatch(mark.strip()))


@lru_cache(maxsize=4096)
def _marking(mark: str | None) -> str | None:
    """A paragraph's classification marking as written (``C``, ``S//NF``,
    ``C - ENTIRE TEXT``); lower-case markings (``(sbu)``) are upper-cased."""
    if not mark:
        return None
    text = " ".join(mark.split())
    if _MARKING_RE.fullmatch(text):
        return text
    upper = text.upper()
    return upper if len(upper) <= 12 and _MARKING_RE.fullmatch(upper) else None


def _unnumbered(text: str) -> list[dict]:
    """Blank-line separated blocks of text with no paragraph number. In a
    double-spaced text (a blank line after every line) it takes two blank
    lines to end a block."""
    out: list[dict] = []
    if not text.strip():
        return out
    lines = text.split("\n")
    blank = sum(1 for line in lines if not line.strip())
    filled = len(lines) - blank
    # double spacing: wrapped (short) lines, each followed by a blank line
    needed = 2 if filled >= 6 and blank * 2.2 >= len(lines) and (
        len(text) - len(lines) < 90 * max(filled, 1)
    ) else 1
    block: list[str] = []
    blanks = 0
    for line in lines:
        if line.strip():
            block.append(line)
            blanks = 0
            continue
        blanks += 1
        if block and blanks >= needed:
            out.append(_unnumbered_paragraph(block))
            block = []
        if len(out) >= _MAX_PARAGRAPHS:
            return out
    if block:
        out.append(_unnumbered_paragraph(block))
    # a line of dashes under a heading is not a paragraph
    return [p for p in out if any(c.isalnum() for c in p["text"])]


def _unnumbered_paragraph(block: list[str]) -> dict:
    first = block[0]
    match = _MARK_ONLY_RE.match(first)
    marking = _marking(match.group("mark")) if match else None
    if marking:
        block = [first[match.end():], *block[1:]]
    return {"number": None, "marking": marking, "text": _join_text(block)}


def _join_text(lines: list[str]) -> str:
    """Paragraph text: lines kept, trailing spaces and surrounding blank lines dropped."""
    return "\n".join(line.rstrip() for line in lines).strip()


def _tidy(text: str) -> str:
    """A paragraph's text without surrounding blank lines (the spaces that end
    lines are already gone: ``_clean_text``)."""
    return text.strip()


def _signers(text: str) -> tuple[list[str], int]:
    """The signer's name(s) on the last line of the body (``BURNS``,
    ``van Voorst``, ``RICE/BOLTON``), past trailer lines (BT, NNNN, a trailing
    classification line, "Visit our classified website" lines), and the offset
    where the text proper ends (before the signer and the trailer)."""
    end = len(text)
    for _ in range(12):
        if end <= 0:
            break
        line_start = text.rfind("\n", 0, end) + 1
        raw_line = text[max(line_start, end - 300):end].strip()
        if end - line_start > 200:
            # a long last line: only a signature at its very end counts
            tail = _signature_tail(raw_line[-100:])
            if tail:
                return [tail], line_start + text[line_start:end].rfind(tail)
            break
        line = raw_line.split(" NNNN", 1)[0].rstrip("\\").strip().strip('."').strip()
        if not line or _is_trailer(raw_line):
            end = max(line_start - 1, 0)
            continue
        if len(line) <= 40 and _SIGNER_RE.fullmatch(line) and not any(
            word.upper() in _NOT_SIGNERS for word in _SIGNER_SPLIT_RE.split(line)
        ):
            names = [" ".join(n.split()) for n in line.split("/") if n.strip()]
            return names, _trailer_start(text, max(line_start - 1, 0))
        # old telegrams sign at the end of the last line: "... AFFAIRS.    PORTER"
        tail = _signature_tail(raw_line)
        if tail:
            return [tail], line_start + text[line_start:end].rfind(tail)
        break
    # no signer: the trailer lines still do not belong to the last paragraph
    return [], end


def _signature_tail(line: str) -> str | None:
    """A signer written at the end of the last line: after three spaces, after
    ``END COMMENT.``, or after a sentence end in mixed-case prose (where an
    upper-case last word is a name, not the end of a sentence)."""
    if not line or line[-1] not in _SIGNATURE_LAST:
        return None  # both patterns end with the name's last letter
    tail = _SIGNATURE_TAIL_RE.search(line)
    if tail and tail.group(1) not in _NOT_SIGNERS:
        return tail.group(1)
    tail = _SIGNATURE_AFTER_SENTENCE_RE.search(line)
    if tail and tail.group(1) not in _NOT_SIGNERS and any(
        c.islower() for c in line[max(0, tail.start() - 100):tail.start()]
    ):
        return tail.group(1)
    return None


_SIGNATURE_LAST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ'-")


def _is_trailer(line: str) -> bool:
    """``_TRAILER_RE.fullmatch(line)``: a trailer line (BT, NNNN, GP-3, a URL,
    "Visit ... classified website" ...). The regex costs ~15 µs on a line of
    prose, mostly in its ``.*X.*`` branches; an ASCII line of prose that opens
    with none of the branches' first letters, holds a space (no URL), is not
    "WORDS 1234" and contains none of the ``.*X.*`` words is answered here."""
    first = line[:1]
    if line.isascii() and "\n" not in line and (
        first.isalpha() and first.lower() not in _TRAILER_INITIALS
        or first.isdigit() and not line[:4].isdigit()  # "12. (U) ..." is not "2009VATICAN..."
        or first == "(" and line[1:2].isalnum()  # not a line of punctuation
    ):
        stripped = line.rstrip()
        if (" " in stripped or "/" not in stripped or "." not in stripped) and (
            len(stripped) > 40 or not stripped[-1].isdigit()
        ):
            low = line.lower()
            return any(word in low for word in _TRAILER_WORDS)
    return bool(_TRAILER_RE.fullmatch(line))


# first letters of the branches of _TRAILER_RE that open with a letter
# (BT NNNN CABLE END Declassified Systematic GP- UNCLASSIFIED LIMITED SECRET ...)
_TRAILER_INITIALS = frozenset("bncedsgul")
# the words of its ".*X.*" branches (case-insensitive: compared lower-cased)
_TRAILER_WORDS = ("vzcz", "classified website", "classified web site", "http://", "https://",
                  "www.")


def _trailer_start(text: str, end: int) -> int:
    """Back over blank and trailer lines (``GP-3``, ``BT``) above the signer."""
    for _ in range(6):
        line_start = text.rfind("\n", 0, end) + 1
        line = text[line_start:end].strip()
        if line and (len(line) > 200 or not _is_trailer(line)):
            break
        if line_start == 0:
            return 0
        end = line_start - 1
    return end


def _section_headings(paragraphs: list[dict]) -> tuple[list[dict], list[str | None]]:
    """Section headings written between paragraphs (``Military Modernization``
    over a line of dashes) end up at the end of the paragraph above; they are
    taken out of it. Returns the paragraphs and, for each, the heading that
    precedes it (a block made only of a heading is dropped)."""
    if not [p for p in paragraphs if p["text"][-1:] in "-=_ "]:
        # no paragraph ends with a line of dashes, none is empty (the "" of an
        # empty text is "in" any string): nothing to take out
        return paragraphs, [None] * len(paragraphs)
    kept: list[dict] = []
    headings: list[str | None] = []
    pending: str | None = None
    for paragraph in paragraphs:
        text = paragraph["text"]
        heading = None
        if text and text[-1] in "-=_ ":  # every heading form ends with a line of dashes
            text, heading = _trailing_heading(text)
        if not text and paragraph["number"] is None:
            pending = " ".join(h for h in (pending, heading) if h) or pending
            continue
        paragraph["text"] = text
        kept.append(paragraph)
        headings.append(pending)
        pending = heading
    return kept, headings


def _trailing_heading(text: str) -> tuple[str, str | None]:
    """Split a paragraph text into its text and a heading at its end."""
    if not text or text[-1] not in "-=_ ":
        return text, None  # every heading form ends with a line of dashes
    last_line = text[text.rfind("\n") + 1:]
    if "---" not in last_line and "===" not in last_line and "___" not in last_line and (
        "- - -" not in last_line
    ):
        return text, None  # every heading form ends with a line of dashes
    parts: list[str] = []
    for _ in range(4):
        body = text.rstrip()
        cut = body.rfind("\n")
        last = body[cut + 1:].strip()
        above = body[: cut + 1] if cut >= 0 else ""
        if last and _is_underline(last):
            prev = above.rstrip()
            prev_cut = prev.rfind("\n")
            title = prev[prev_cut + 1:].strip()
            if _heading_title(title):
                before_title = prev[: prev_cut + 1] if prev_cut >= 0 else ""
                overline = before_title.rstrip().rsplit("\n", 1)[-1].strip()
                if (not before_title.strip() or _is_underline(overline)
                        or before_title.endswith(("\n\n", "\n \n"))):
                    parts.insert(0, title)
                    text = before_title
                    if overline and _is_underline(overline):
                        text = before_title.rstrip()[: -len(overline)]
                    break
            text = above  # a separator line alone
            continue
        if not last or last[-1] not in "-=_":
            break  # both forms below end with a line of dashes
        match = _TITLE_UNDERLINE_RE.fullmatch(last)
        if match and _heading_title(match.group("title")):
            parts.insert(0, match.group("title"))
            text = above
        else:
            # flattened: "... the budget. ------- Summary -------" ends the line
            inline = _INLINE_HEADING_RE.search(body, max(0, len(body) - 200))
            if inline and _heading_title(inline.group("title")):
                parts.insert(0, inline.group("title"))
                text = body[: inline.start()]
        break
    heading = " ".join(parts) or None
    return text.strip(), heading


def _is_underline(line: str) -> bool:
    """``_UNDERLINE_RE.fullmatch(line)``: a line of at least three dashes
    (``-``, ``=``, ``_``), each followed by at most one space or tab. The
    regex repeats a group, which re runs slowly on lines of 70 dashes."""
    if not line or line[0] not in "-=_" or line.strip("-=_ \t"):
        return False  # (line.strip(...) is empty when every character is one of those)
    if "  " in line or "\t" in line and ("\t\t" in line or " \t" in line or "\t " in line):
        return False
    return len(line) - line.count(" ") - line.count("\t") >= 3


def _heading_title(title: str) -> bool:
    return 0 < len(title) <= 100 and not title.endswith((".", ",", ";", '"')) and not (
        ("-" in title or "=" in title or "_" in title) and _DASH_RUN_RE.search(title)
    )


def _summary(paragraphs: list[dict], headings: list[str | None] | None = None) -> str | None:
    """The summary (docs/parsing.md): the text after the ``Summary:`` label of
    the first paragraph that opens with one, or the paragraph(s) under a
    ``Summary`` heading, up to ``End summary`` (over at most six paragraphs);
    without an end marker, that one paragraph. Without any label, paragraphs
    up to an ``End summary`` within the first four. Whitespace is collapsed;
    paragraphs are joined by a blank line."""
    headings = headings or [None] * len(paragraphs)
    for index, paragraph in enumerate(paragraphs[:40]):
        text = paragraph["text"]
        heading = headings[index]
        if heading and _SUMMARY_START_RE.fullmatch(heading.strip(" -=_:")):
            return _summary_from(paragraphs, index, text)
        start = _SUMMARY_START_RE.match(text[:200])
        if start:
            rest = text[start.end():]
            if rest.strip(" \t\n-=_:."):
                return _summary_from(paragraphs, index, rest)
            if index + 1 < len(paragraphs):  # a heading on its own
                return _summary_from(paragraphs, index + 1, paragraphs[index + 1]["text"])
            return None
        tail = text[-200:]
        if index + 1 < len(paragraphs) and ("ummary" in tail or "UMMARY" in tail) and (
            _SUMMARY_HEADING_RE.search(tail)
        ):
            return _summary_from(paragraphs, index + 1, paragraphs[index + 1]["text"])
    for index, paragraph in enumerate(paragraphs[:4]):
        if _summary_end(paragraph["text"]) >= 0:
            first = next((i for i, p in enumerate(paragraphs[: index + 1]) if p["number"]), 0)
            return _summary_from(paragraphs, first, paragraphs[first]["text"])
    return None


def _summary_end(text: str) -> int:
    """Offset of ``End summary`` / ``END OF SUMMARY`` in a text, or -1."""
    low = text.lower()
    if "summary" not in low:
        return -1
    match = _SUMMARY_END_RE.search(low)
    if match is None or (match.start() and low[match.start() - 1].isalpha()):
        return -1
    return match.start()


def _summary_from(paragraphs: list[dict], index: int, first: str) -> str | None:
    pieces: list[str] = []
    for offset, following in enumerate(paragraphs[index:index + 6]):
        chunk = first if offset == 0 else following["text"]
        end = _summary_end(chunk)
        if end >= 0:
            pieces.append(chunk[:end].rstrip(" \t\n(-"))
            break
        pieces.append(chunk)
    else:
        pieces = [first]
    cleaned = [" ".join(p.split()).strip(" -=_") for p in pieces]
    return "\n\n".join(p for p in cleaned if p) or None


# --------------------------------------------------------------------------- identity


def _identity(record: Record, meta: dict, info: _Header, banner: _Banner | None,
              warnings: list[str]) -> None:
    """reference_id, origin_code, origin, created, released."""
    published = _text(meta.get("reference_id"))
    hint = _text(meta.get("reference_id_hint"))
    if published:
        ref_id, notes = ids.canonical_id(published.replace(" ", ""))
        warnings += notes
    else:
        # the text's own banner and DTG, else the file name's ID (reader hint)
        ref_id = _id_from_text(banner, info)
        hinted = ids.canonical_id(hint.replace(" ", "")) if hint else None
        if ref_id and hinted and hinted[0] != ref_id:
            warnings.append(
                f"reference_id: the text says {ref_id}, the file name {hinted[0]}; text kept"
            )
        elif ref_id is None and hinted:
            ref_id = hinted[0]
            warnings += hinted[1]
        elif ref_id is None:
            warnings.append("reference_id: not found")
    record["reference_id"] = ref_id

    sender_code = ids.code_for_address(info.sender) if info.sender else None
    station_code = ids.routing_code(info.station) if info.station else None
    code = None
    if ref_id:
        parts = ids.split_id(ref_id)
        code = parts[1] if parts and ids.is_code(parts[1]) else None
        if code is None:
            loose = ids.code_of(ref_id)
            code = loose if loose and ids.is_code(loose) else None
    record["origin_code"] = code or sender_code or station_code or ids.code_of(ref_id)

    origin = _text(meta.get("origin"))
    if origin is None and sender_code:
        # the FM line names the sender: its name by the site's convention
        origin = ids.origin_name(sender_code, confirmed_only=False)
        if ids.origins().get(sender_code) and ids.origins()[sender_code].name_status in (
            "reference_only", "ambiguous"
        ) and not sender_code.startswith("USEU"):
            origin = ids.origin_name(sender_code)
    if origin is None and record["origin_code"]:
        origin = ids.origin_name(record["origin_code"])
    record["origin"] = origin

    record["created"] = _created(meta, info, warnings)
    record["released"] = _iso_datetime(meta.get("released"), "released", warnings)


def _created(meta: dict, info: _Header, warnings: list[str]) -> str | None:
    """The source's created timestamp; else the DTG (when it agrees with a
    date-only ``created_date`` the source gives); else that date at 00:00,
    flagged in warnings because the time is not stated."""
    if meta.get("created") is not None:
        return _iso_datetime(meta.get("created"), "created", warnings)
    from_dtg = _dtg_datetime(info.dtg) if info.dtg else None
    day = _text(meta.get("created_date"))
    if day is None:
        return from_dtg
    if from_dtg and from_dtg[:10] == day:
        return from_dtg
    stamp = _iso_datetime(day, "created_date", warnings)
    if stamp:
        warnings.append("created: the source states the date only; time set to 00:00")
    return stamp


def _id_from_text(banner: _Banner | None, info: _Header) -> str | None:
    if banner is None or info.dtg is None:
        return None
    year = info.dtg.split()[-1]
    return ids.make_id(year, banner.post, banner.serial)


def _year_of(record: Record) -> str | None:
    ref_id = record.get("reference_id") or ""
    if ref_id[:2].isdigit() and not ref_id[2:3].isdigit():
        return ref_id[:2]
    created = record.get("created") or ""
    return created[2:4] if created[:4].isdigit() else None


_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?")
_US_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?)?")
_RUBY_RE = re.compile(  # Ruby Time#to_s: "Wed Oct 09 00:00:00 +0200 2002"
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):\d{2}"
    r"(?: [+-]\d{4}| [A-Z]{3,4})? (\d{4})"
)


def _iso_datetime(value: object, name: str, warnings: list[str]) -> str | None:
    """``YYYY-MM-DDTHH:MM`` from the metadata forms: ``2007-05-14 03:19``,
    ``12/28/1966 18:48`` (cables.csv), ``Wed Oct 09 00:00:00 +0200 2002`` (alx)."""
    if isinstance(value, str) and len(value) == 16 and value[10] in "T ":
        fast = _valid_iso(value)  # the readers' own form, "2007-05-14T03:19"
        if fast:
            return fast
    text = _text(value)
    if text is None:
        return None
    parts: tuple | None = None
    if match := _ISO_RE.fullmatch(text):
        parts = (match[1], match[2], match[3], match[4] or "0", match[5] or "0")
    elif match := _US_RE.fullmatch(text):
        parts = (match[3], match[1], match[2], match[4] or "0", match[5] or "0")
    elif match := _RUBY_RE.fullmatch(text):
        month = _MONTHS.get(match[1].upper())
        if month:
            parts = (match[5], str(month), match[2], match[3], match[4])
    if parts is None:
        warnings.append(f"{name}: unrecognised date {text!r}")
        return None
    try:
        year, month, day, hour, minute = (int(p) for p in parts)
        date(year, month, day)
        if hour > 23 or minute > 59:
            raise ValueError("time out of range")
    except ValueError:
        warnings.append(f"{name}: invalid date {text!r}")
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"


def _valid_iso(value: str) -> str | None:
    if value[4] != "-" or value[7] != "-" or value[13] != ":":
        return None
    try:
        hour, minute = int(value[11:13]), int(value[14:16])
    except ValueError:
        return None
    if hour > 23 or minute > 59 or not _valid_day(value[:10]):
        return None
    return value[:10] + "T" + value[11:]


@lru_cache(maxsize=4096)
def _valid_day(text: str) -> bool:
    """``YYYY-MM-DD`` is a real day (many cables share a day: cached)."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def _dtg_datetime(dtg: str) -> str | None:
    """``140319Z MAY 07`` -> ``2007-05-14T03:19`` (two-digit years >= 50 are 19xx)."""
    try:
        stamp, month_name, year_text = dtg.replace(" Z", "Z").split()
        month = _MONTHS[month_name.upper()]
        day, hour, minute = int(stamp[0:2]), int(stamp[2:4]), int(stamp[4:6])
        year = int(year_text)
        year += 1900 if year >= 50 else 2000
        date(year, month, day)
        if hour > 23 or minute > 59:
            return None
    except (ValueError, KeyError):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
