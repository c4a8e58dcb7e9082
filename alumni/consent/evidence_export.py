"""The consent evidence of a period for the privacy officer (an audit by the Dutch DPA, a
question of the school's own): every decision with its pseudonymous subject id, purpose,
decision, channel, time, and the notice it was given under with that notice's SHA-256.

Only pseudonyms: a row names nobody without the school's key, and evidence outlives the
person's erasure (it proves what they chose). Rows stream in id order, so a period of a million
decisions does not sit in memory.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import LOCAL_TIME, ConsentEvidence, PrivacyNotice

COLUMNS = (
    "evidence_id",
    "subject_id",
    "purpose",
    "decision",
    "channel",
    "recorded_at",
    "notice_version",
    "notice_sha256_nl",
    "notice_sha256_en",
)
FORMATS = ("csv", "json")
CHUNK = 1000


@dataclass(frozen=True)
class Period:
    """Local days, both included (as the audit log's filter reads them)."""

    since: date
    until: date

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.since, time(), LOCAL_TIME)
        end = datetime.combine(self.until + timedelta(days=1), time(), LOCAL_TIME)
        return start, end


def _query(period: Period) -> sa.Select:
    start, end = period.bounds()
    return (
        sa.select(
            ConsentEvidence.id,
            ConsentEvidence.subject_id,
            ConsentEvidence.purpose,
            ConsentEvidence.decision,
            ConsentEvidence.channel,
            ConsentEvidence.recorded_at,
            ConsentEvidence.notice_version,
            PrivacyNotice.sha256_nl,
            PrivacyNotice.sha256_en,
        )
        .join(PrivacyNotice, PrivacyNotice.version == ConsentEvidence.notice_version)
        .where(ConsentEvidence.recorded_at >= start, ConsentEvidence.recorded_at < end)
        .order_by(ConsentEvidence.id)
    )


def count(period: Period) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_query(period).subquery()))


def rows(period: Period) -> Iterator[dict[str, object]]:
    """Each decision of the period as a record, oldest first."""
    result = db.session.execute(_query(period).execution_options(yield_per=CHUNK))
    for row in result:
        yield {
            "evidence_id": row.id,
            "subject_id": row.subject_id,
            "purpose": row.purpose.value,
            "decision": row.decision.value,
            "channel": row.channel.value,
            "recorded_at": row.recorded_at.isoformat(),
            "notice_version": row.notice_version,
            "notice_sha256_nl": row.sha256_nl,
            "notice_sha256_en": row.sha256_en,
        }


def as_csv(records: Iterator[dict[str, object]]) -> Iterator[str]:
    """A header, then a line per decision (None as an empty cell)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for number, record in enumerate(records, start=1):
        writer.writerow(record)
        if number % CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def as_json(records: Iterator[dict[str, object]], period: Period) -> Iterator[str]:
    """One JSON document: the period, then the decisions (written as they are read)."""
    since, until = json.dumps(period.since.isoformat()), json.dumps(period.until.isoformat())
    yield f'{{"since": {since}, "until": {until}, "evidence": ['
    for number, record in enumerate(records):
        yield ("," if number else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]}\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
