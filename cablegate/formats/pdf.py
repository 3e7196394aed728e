"""WikiLeaks per-cable PDFs (wkhtmltopdf, 2015): the cable text from the text layer.

The text layer (read with pypdf) holds the header (DTG, ``FM``/``TO``/``INFO``)
then the body; it is split at the classification line. The PDFs have no site
metadata: the reference ID comes from the text (field parsing), with the file
name stem (``00ATHENS1501.pdf``) as ``meta['reference_id_hint']``. A file that
is not a PDF, is encrypted or broken, or has no text layer is a ParseError.
"""

from __future__ import annotations

import io
import logging

from ..errors import ParseError
from ..record import RawCable
from ._common import (
    fail,
    raw_cable,
    refid_hint_from_path,
    serial_of,
    split_header_body,
    strip_pilcrows,
    take_partial_notice,
    trim_text,
)

FORMAT = "wikileaks-cable-pdf"
MAGIC = b"%PDF-"


def looks_like(head: bytes) -> bool:
    return head[:1024].lstrip()[:5] == MAGIC


def extract_text(data: bytes, path: str) -> str:
    """The text layer of all pages, joined by line breaks; ParseError if unreadable."""
    import pypdf  # imported here: only PDF inputs pay for it

    # pypdf logs recoverable damage as warnings; the ParseError says what matters.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise fail("encrypted PDF", path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except RecursionError:
        raise fail("broken PDF (structure nested too deeply)", path) from None
    except Exception as err:  # pypdf raises many types for damaged files
        raise fail(f"broken PDF ({type(err).__name__}: {err})", path) from None
    return "\n".join(pages)


def read(data: bytes, path: str, reference_id: str | None = None) -> RawCable:
    text = extract_text(data, path)
    if not text.strip():
        raise fail("PDF has no text layer (scanned image?)", path)
    hint = reference_id or refid_hint_from_path(path)
    text, partial = take_partial_notice(strip_pilcrows(text.replace("\r\n", "\n")))
    header, body, warnings = split_header_body(text, serial_of(hint))
    meta: dict = {}
    if hint:
        meta["reference_id_hint"] = hint
    if partial:
        meta["partial"] = True
    return raw_cable(trim_text(header), trim_text(body), path, FORMAT, meta=meta, warnings=warnings)
