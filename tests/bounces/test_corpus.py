"""``bounces ingest`` with a corpus of bounce formats (tests/data/bounces/, written from the
RFC 3464 and RFC 5965 examples and the formats flufl.bounce documents; reserved addresses
only): each message attributed to its recipient or ignored, as expected."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import (
    Alumnus,
    Bounce,
    ConsentEvidence,
    EvidenceChannel,
    Suppression,
    SuppressionReason,
)
from tests.support.bounces import BOUNCE_ADDRESS, CORPUS, mailed_person

NOTHING = "Ignored: neither a bounce, nor a complaint, nor an auto-reply."
# file -> what `bounces ingest` says it did (action, why ignored, how the recipient was found)
EXPECTED = {
    "dsn-postfix-hard.eml": "undeliverable (tag)",
    "dsn-delayed.eml": "soft-bounce (tag)",
    "dsn-mailbox-full-soft.eml": "soft-bounce (tag)",
    "dsn-gmail-by-message-id.eml": "undeliverable (message-id)",
    "dsn-microsoft365.eml": "undeliverable (tag)",
    "dsn-by-address.eml": "undeliverable (address)",
    "qmail.eml": "undeliverable (tag)",
    "exchange-legacy.eml": "undeliverable (tag)",
    "postfix-legacy.eml": "undeliverable (tag)",
    "arf-abuse.eml": "complaint (tag)",
    "arf-by-message-id.eml": "complaint (message-id)",
    "arf-by-address-only.eml": "ignored unproven-complaint (address)",
    "arf-not-spam.eml": NOTHING,
    "out-of-office.eml": "ignored auto-reply",
    "vacation-x-autoreply.eml": "ignored auto-reply",
    "foreign-tag.eml": "ignored foreign-tag",
    "dsn-unknown-recipient.eml": "ignored unknown-recipient",
    "not-a-bounce.eml": NOTHING,
}


@pytest.fixture
def config_overrides():
    return {"BOUNCE_ADDRESS": BOUNCE_ADDRESS, "BABEL_DEFAULT_LOCALE": "en"}


def test_every_file_of_the_corpus_is_listed():
    assert sorted(path.name for path in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_is_attributed_or_ignored_as_expected(app, outbox, runner, name):
    mailed = mailed_person(app, outbox)
    bystander = mailed_person(app, outbox)  # mailed too; no report is about them

    result = runner.invoke(args=["bounces", "ingest"], input=mailed.message(name))

    assert result.exit_code == 0, result.output
    said = EXPECTED[name]
    assert result.output.splitlines() == [said]
    db.session.expire_all()
    person = db.session.get(Alumnus, mailed.alumnus.id)
    bounces = db.session.scalars(sa.select(Bounce)).all()
    assert {bounce.alumnus_id for bounce in bounces} <= {person.id}
    assert (person.undeliverable_at is not None) is said.startswith("undeliverable")
    complained = said.startswith("complaint")
    suppressed = db.session.scalars(sa.select(Suppression.reason)).all()
    assert suppressed == ([SuppressionReason.COMPLAINT] if complained else [])
    evidence = db.session.scalars(
        sa.select(ConsentEvidence.purpose).where(
            ConsentEvidence.channel == EvidenceChannel.COMPLAINT
        )
    ).all()
    assert len(evidence) == (2 if complained else 0)
    recorded = not said.startswith(("ignored", NOTHING))
    delivery = None if said.endswith("(address)") else mailed.delivery_id  # no tag: no email
    assert [(b.alumnus_id, b.delivery_id) for b in bounces] == (
        [(person.id, delivery)] if recorded else []
    )
    assert db.session.get(Alumnus, bystander.alumnus.id).undeliverable_at is None
