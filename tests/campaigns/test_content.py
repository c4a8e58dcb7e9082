"""A campaign email per recipient: rendered once per language with slots, then filled in.
It must be the same email as rendering the templates for that recipient would give."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alumni.campaigns.content import CampaignSnapshot, Recipient, campaign_email, render_body
from alumni.mail.compose import render_email
from alumni.models.purpose import Purpose

BODY = "Kom naar de **reünie** op 12 juni.\n\n- rondleiding\n- buffet\n\n[Aanmelden](https://school.example/r?a=1&b=2)"


def snapshot() -> CampaignSnapshot:
    return CampaignSnapshot(7, Purpose.EVENTS, "Reünie", BODY, render_body(BODY), True, "k" * 64)


def recipient(name: str, locale: str) -> Recipient:
    return Recipient(
        email="sanne@alumni.example",
        name=name,
        locale=locale,
        consent_since=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        unsubscribe_url="https://alumni.test/unsubscribe/abc.def?x=1&y=2",
        unsubscribe_token="abc.def",
        preferences_url="https://alumni.test/preferences/ghi.jkl",
    )


def rendered_for(person: Recipient, pixel: str | None):
    """The templates rendered for this one person, as the email was built before."""
    from flask_babel import force_locale, format_date

    with force_locale(person.locale):
        since = format_date(person.consent_since, format="long")
    return render_email(
        "campaign",
        to=person.email,
        locale=person.locale,
        subject="Reünie",
        name=person.name,
        body_html=render_body(BODY),
        body_text=BODY,
        purpose=Purpose.EVENTS,
        since=since,
        unsubscribe_url=person.unsubscribe_url,
        preferences_url=person.preferences_url,
        pixel_url=pixel,
    )


@pytest.mark.parametrize("locale", ["nl", "en"])
@pytest.mark.parametrize("name", ["Sanne", ""])
@pytest.mark.parametrize("pixel", ["https://alumni.test/o/TOKEN.gif", None])
def test_filled_in_is_the_same_as_rendered(app, locale, name, pixel):
    campaign = snapshot()
    person = recipient(name, locale)
    for _ in range(2):  # the second time from the layout kept by the snapshot
        email = campaign_email(campaign, person, campaign.body_html, pixel)
        expected = rendered_for(person, pixel)
        assert (email.subject, email.text, email.html) == (
            expected.subject,
            expected.text,
            expected.html,
        )
    assert len(campaign.layouts) == 1


def test_a_name_is_text_in_the_html_never_markup(app):
    campaign = snapshot()
    hostile = "<b>O'Brien</b> & \ue000since\ue000"
    email = campaign_email(campaign, recipient(hostile, "nl"), campaign.body_html)
    assert "<b>O" not in email.html
    assert "&lt;b&gt;O&#39;Brien&lt;/b&gt; &amp;" in email.html
    assert hostile in email.text  # plain text stays as typed
    assert "\ue000" in email.text  # a slot in a name is never filled in: one pass only
    assert "3 maart 2026" in email.text
