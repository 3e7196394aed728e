"""Field parsing: from a RawCable's header/body texts and metadata to a Record.

``build_record(raw)`` fills every field of the record contract (record.FIELDS).
Metadata the source states outside the text (``raw.meta``) wins over values
derived from the text. The decisions on ambiguous fields are documented in
docs/parsing.md. This module is the composition: the parsers of each part of
the telegram live in ``cablegate/fields/`` (header, classification, pages,
subject, refs, paragraphs, summary, signers, identity).

Robustness: every regex there is applied either to one line, to a bounded slice
(``_HEAD_LIMIT`` characters, one REF list, one Classified By sentence) or has
no nested unbounded quantifiers, so the work is linear in the input size; the
numbers of REF items and paragraphs are capped. Anything unexpected inside
the field parsers becomes a ``ParseError`` naming the input, never another
exception type.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import ParseError
from .fields.classification import (
    EO_RE,
    Banner,
    classification_of,
    classified_by,
    declassify_on,
    find_banner,
    find_caveats,
    find_classified,
    reasons,
    sentence_after,
)
from .fields.common import PARTIAL_NOTICE, end_of_line, text_of
from .fields.header import Header, has_transmission, precedence_of, scan_header
from .fields.identity import fill_identity, year_of
from .fields.pages import clean_text
from .fields.paragraphs import paragraph_starts, section_headings, split_paragraphs
from .fields.refs import meta_references, ref_items, references
from .fields.signers import find_signers
from .fields.subject import find_subject, split_tags, tag_list, tags_line
from .fields.summary import find_summary
from .record import FIELDS, RawCable, Record

__all__ = ["PARTIAL_NOTICE", "build_record"]

_HEAD_LIMIT: Final = 20_000  # characters of the body head searched for E.O./TAGS/SUBJECT/REF

# list fields of record.FIELDS that _build does not set (none today): kept empty lists
_UNSET_LIST_FIELDS: Final = tuple(
    name for name, kind in FIELDS.items() if kind == "list" and name not in {
        "tags", "references", "references_raw", "recipients", "info_recipients", "signers",
        "classification_reasons", "caveats", "paragraphs", "media_urls", "warnings"}
)


def build_record(raw: RawCable) -> Record:
    """The Cable record of one raw cable (see module docstring)."""
    where = {"path": raw.source.get("path"), "row": raw.source.get("row")}
    header = raw.header if isinstance(raw.header, str) else ""
    body = raw.body if isinstance(raw.body, str) else ""
    meta = raw.meta if isinstance(raw.meta, dict) else {}
    if not header.strip() and not body.strip() and not text_of(meta.get("reference_id")):
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
    partial = bool(meta.get("partial")) or header.find(PARTIAL_NOTICE, 0, 400) >= 0 or (
        body.find(PARTIAL_NOTICE, 0, 2000) >= 0
    )
    head_info, banner, start = _transmission_and_banner(header, body)
    text = clean_text(body[start:], banner.post if banner else None)
    starts = paragraph_starts(text)
    signers, content_end = find_signers(text)
    first_para = starts[0].start() if starts else None
    if first_para is not None and first_para >= content_end:
        content_end = len(text)
    head = text[: min(first_para if first_para is not None else content_end, _HEAD_LIMIT)]

    record: Record = dict.fromkeys(FIELDS)  # every field is set below (lists included)
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
    record["precedence"] = precedence_of(head_info)

    # --- head of the body, then the paragraphs after it
    head_end, tags_text, subject, refs_raw = _head_fields(
        record, head, text, first_para, banner, warnings
    )
    paragraphs, headings = section_headings(
        split_paragraphs(text, starts, head_end, content_end)
    )
    record["paragraphs"] = paragraphs
    record["signers"] = signers
    record["summary"] = find_summary(paragraphs, headings)

    # --- identity and metadata (meta wins)
    fill_identity(record, meta, head_info, banner, warnings)
    record["subject"] = text_of(meta.get("subject")) or subject
    meta_tags = meta.get("tags")
    record["tags"] = tag_list(meta_tags) if meta_tags else split_tags(tags_text)
    citing = record["reference_id"]
    record["references_raw"] = refs_raw
    record["references"] = references(refs_raw, citing, year_of(record))
    if not record["references"]:
        # what the source lists outside the text (cables.csv column), if anything
        record["references"] = meta_references(
            meta.get("references") or meta.get("references_csv"), citing
        )
    record["classification"] = text_of(meta.get("classification")) or classification_of(
        banner, head_info.security_letter, record["caveats"]
    )
    media = meta.get("media_urls")
    record["media_urls"] = [str(u) for u in media] if isinstance(media, list) else []
    record["warnings"] = warnings
    return record


def _transmission_and_banner(header: str, body: str) -> tuple[Header, Banner | None, int]:
    """The transmission header (the header text, or -- PDF, alx, text files --
    the lines of the body above the classification banner), the banner, and
    the offset in the body where the banner's line starts."""
    header_lines = header.split("\n")
    head_info = scan_header(header_lines)
    # the banner is in the first lines, nearly always the very first: a few
    # lines are cut out first (each line cut is an object), more only if needed
    # (find_banner answers the first banner line of the lines it is given)
    for lines in (12, 40, 200):
        body_top = body.split("\n", lines)[:lines]
        banner = find_banner(body_top)
        if banner is not None or len(body_top) < lines:
            break
    if not has_transmission(head_info):
        stop = banner.line_index + banner.glued if banner else min(len(body_top), 80)
        body_info = scan_header(body_top[:stop])
        if has_transmission(body_info):
            head_info = body_info
    if banner is None and header:
        # alx/flattened texts: the banner can be glued to the header's last line
        banner_in_header = find_banner(header_lines)
        if banner_in_header is not None:
            banner = Banner(banner_in_header.level, banner_in_header.extra,
                            banner_in_header.post, banner_in_header.serial, -1, False)
    start = 0
    if banner and banner.line_index > 0:
        start = sum(len(line) + 1 for line in body_top[: banner.line_index])
    return head_info, banner, start


def _head_fields(record: Record, head: str, text: str, first_para: int | None,
                 banner: Banner | None, warnings: list[str]) -> tuple[int, str, str | None,
                                                                     list[str]]:
    """The elements of the body head: declassify_on, classified_by and its
    reasons, caveats (set in ``record``), and the TAGS text, SUBJECT and REF
    items (the source's metadata may win over those). Returns first where the
    head's last element ends: the text after it, up to paragraph 1, becomes
    unnumbered paragraphs."""
    eo = EO_RE.search(head)
    # the head elements' ends; the banner line itself is never running text
    ends: list[int] = [end_of_line(head, 0)] if banner and banner.line_index >= 0 else []
    if eo:
        eol = end_of_line(head, eo.end())
        ends.append(eol)
        record["declassify_on"] = declassify_on(head[eo.start():eol], warnings)
    tags_text, tags_start, tags_end = tags_line(head)
    if tags_end:
        ends.append(tags_end)
    subject, subject_start, subject_end = find_subject(head)
    if subject_end:
        ends.append(subject_end)
    refs_raw, refs_start, refs_text_end = ref_items(head)
    if refs_text_end:
        ends.append(refs_text_end)
    classified = find_classified(head)
    classified_start = classified.start() if classified else None
    classified_text, classified_ends = _classified_sentence(head, text, first_para, classified)
    ends += classified_ends
    if classified_text is not None:
        record["classified_by"] = classified_by(classified_text)
        record["classification_reasons"] = reasons(classified_text)
    else:
        record["classification_reasons"] = []
    # caveats are read in the caption: from the banner to the first head element
    element_starts = [m for m in (eo and eo.start(), tags_start, subject_start, refs_start,
                                  classified_start) if m]
    caption_end = min(element_starts) if element_starts else 600
    record["caveats"] = find_caveats(head[:caption_end], banner)
    return (max(ends) if ends else 0), tags_text, subject, refs_raw


def _classified_sentence(head: str, text: str, first_para: int | None,
                         classified: re.Match[str] | None) -> tuple[str | None, list[int]]:
    """The Classified By sentence (None: there is none) and where it ends in the
    head (nothing when it is read from paragraph 1)."""
    if classified is None:
        if first_para is None:
            return None, []
        # "1. (U) Classified by ..." : the sentence opens the first paragraph
        tail = text[first_para:first_para + 1000]
        in_paragraph = find_classified(tail)
        if in_paragraph is None:
            return None, []
        return sentence_after(tail, in_paragraph.end())[0], []
    sentence, end = sentence_after(head, classified.end())
    ends = [end]
    if sentence.endswith("...") and not reasons(sentence):
        # cut short on the page; a later copy of the head may have it whole
        again = find_classified(head, end)
        if again:
            sentence_again, end_again = sentence_after(head, again.end())
            if reasons(sentence_again):
                sentence = sentence_again
                ends.append(end_again)
    return sentence, ends


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
