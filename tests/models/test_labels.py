"""Every status and reason has its words beside it, in Dutch and in English."""

from __future__ import annotations

from enum import StrEnum

import pytest
from flask_babel import force_locale

from alumni.models import (
    AlumnusStatus,
    CampaignStatus,
    FailReason,
    Role,
    SkipReason,
    WaitingReason,
    reason_label,
)

LABELLED: list[type[StrEnum]] = [
    AlumnusStatus,
    CampaignStatus,
    Role,
    SkipReason,
    FailReason,
    WaitingReason,
]


@pytest.mark.parametrize("family", LABELLED, ids=lambda family: family.__name__)
def test_every_member_has_words_in_both_languages(app, family):
    with app.test_request_context():
        for member in family:
            with force_locale("en"):
                english = member.label
            with force_locale("nl"):
                dutch = member.label
            assert english and dutch and english != member.value
            assert dutch != english, f"{family.__name__}.{member.name} is not translated"


def test_a_delivery_reason_is_said_in_words_a_refusal_keeps_its_code(app):
    with app.test_request_context(), force_locale("en"):
        assert reason_label("no-consent") == SkipReason.NO_CONSENT.label
        assert reason_label(FailReason.INTERRUPTED) == FailReason.INTERRUPTED.label
        assert "550" in reason_label(FailReason.smtp(550))
        assert reason_label("something-new") == "something-new"
