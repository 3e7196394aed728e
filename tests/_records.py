"""Records built in tests (record.empty_record() + fields) and a one-batch writer."""

from __future__ import annotations

from datetime import datetime

from cablegate import db, store
from cablegate.record import empty_record

T0 = datetime(2026, 1, 1, 12, 0)


def make_record(refid: str, body: str = "BODY TEXT", **fields) -> dict:
    record = empty_record()
    record.update(
        reference_id=refid,
        header=fields.pop("header", f"R 010000Z JAN 07\nFM AMEMBASSY {refid}"),
        body=body,
        created=fields.pop("created", "2007-05-07 03:19"),
        released=fields.pop("released", "2010-12-06 12:12"),
        classification=fields.pop("classification", "CONFIDENTIAL"),
        origin=fields.pop("origin", "Embassy Moscow"),
        subject=fields.pop("subject", f"SUBJECT OF {refid}"),
        source=fields.pop("source", {"path": f"/in/{refid}.html", "format": "text", "row": None}),
    )
    record.update(fields)
    return record


def write(engine, records, errors=(), now=T0) -> store.BatchResult:
    """Store records (and rejected inputs) in one transaction, as ingest does per batch."""
    with db.writing(engine) as conn:
        return store.write_batch(conn, [store.prepare(r) for r in records], list(errors), now=now)
