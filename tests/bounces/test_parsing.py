"""``read_message`` alone (no database): the kind and status of each recipient of a DSN, the
tag of the address it came back to, the Message-ID of the quoted original."""

from __future__ import annotations

from alumni.bounces.parsing import read_message
from alumni.bounces.reports import Report, ReportKind
from tests.support.bounces import CORPUS

TAG = "a" * 31  # shaped like a tag: reading does not open it


def corpus(name: str, **values: str) -> bytes:
    text = (CORPUS / name).read_text()
    fills = {"TAG": TAG, "ADDRESS": "oud@example.org", "MSGID": "<orig.1@school.example>"}
    for key, value in {**fills, **values}.items():
        text = text.replace(f"@@{key}@@", value)
    return text.encode()


def test_a_dsn_gives_kind_status_tag_and_the_original_message_id():
    assert read_message(corpus("dsn-postfix-hard.eml")) == [
        Report(ReportKind.HARD, "oud@example.org", TAG, "<orig.1@school.example>", "5.1.1")
    ]
    (delayed,) = read_message(corpus("dsn-delayed.eml"))
    assert (delayed.kind, delayed.status) == (ReportKind.SOFT, "4.4.1")


def test_each_failed_recipient_of_a_dsn_is_a_report_and_delivered_ones_are_none():
    raw = corpus("dsn-mailbox-full-soft.eml").replace(
        b"\n--b-soft--",
        b"\nFinal-Recipient: rfc822; weg@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        b"Final-Recipient: rfc822; blij@example.org\nAction: delivered\nStatus: 2.0.0\n"
        b"\n--b-soft--",
    )
    reports = read_message(raw)
    assert [(r.kind, r.address, r.status) for r in reports] == [
        (ReportKind.SOFT, "oud@example.org", "4.2.2"),
        (ReportKind.HARD, "weg@example.org", "5.1.1"),
    ]


def test_the_envelope_recipient_gives_the_tag_when_the_headers_do_not():
    raw = corpus("dsn-by-address.eml")
    assert read_message(raw)[0].verp_tag is None
    tagged = read_message(raw, envelope_recipient=f"bounces+{TAG.upper()}@school.example")
    assert tagged[0].verp_tag == TAG


def test_complaints_auto_replies_and_other_mail():
    (complaint,) = read_message(corpus("arf-abuse.eml"))
    assert (complaint.kind, complaint.verp_tag) == (ReportKind.COMPLAINT, TAG)
    assert read_message(corpus("arf-not-spam.eml")) == []
    assert [r.kind for r in read_message(corpus("out-of-office.eml"))] == [ReportKind.AUTO_REPLY]
    assert read_message(corpus("not-a-bounce.eml")) == []
    assert read_message(b"") == [] and read_message(b"\xff\xfe garbage \x00") == []
