"""The return path per message: a tag only this installation can read, on the envelope of
every campaign email, invitation and fresh link, and at the start of its Message-ID."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.bounces.verp import (
    TAG_LENGTH,
    Sent,
    Tagged,
    make_tag,
    read_tag,
    tag_in_address,
    tag_in_message_id,
)
from alumni.config import load_config
from alumni.extensions import db
from alumni.models import AlumnusStatus, Delivery
from alumni.models.purpose import Purpose
from alumni.people import invitations
from tests.support.bounces import BOUNCE_ADDRESS
from tests.support.factories import answer, make_alumnus, make_campaign, send_now


@pytest.fixture
def config_overrides(smtp_server):
    return {"BOUNCE_ADDRESS": BOUNCE_ADDRESS, "SMTP_URL": smtp_server.url, "MAIL_BACKEND": None}


@pytest.mark.parametrize("sent", list(Sent))
def test_a_tag_opens_to_what_it_names_and_fits_a_local_part(app, sent):
    tagged = Tagged(sent, 2**40 + 7, 65537)
    tag = make_tag(tagged)
    assert len(tag) == TAG_LENGTH and tag == tag.lower()
    assert read_tag(tag) == Tagged(sent, 2**40 + 7, 1)  # the version modulo 2**16
    assert read_tag(tag.upper()) == read_tag(tag)  # mail systems may change the case
    assert len(f"bounces+{tag}") <= 64
    assert str(2**40 + 7) not in tag and tag != make_tag(Tagged(sent, 2**40 + 8, 65537))


def test_a_tampered_foreign_or_malformed_tag_opens_to_nothing(app):
    tag = make_tag(Tagged(Sent.CAMPAIGN, 12, 1))
    for position in range(TAG_LENGTH):
        other = "b" if tag[position] != "b" else "c"
        assert read_tag(tag[:position] + other + tag[position + 1 :]) is None
    app.config["SECRET_KEY"] = "another installation's key " + "k" * 32
    assert read_tag(tag) is None
    assert read_tag(make_tag(Tagged(Sent.CAMPAIGN, 12, 1))) is not None
    for malformed in ("", "a" * 30, "1" * TAG_LENGTH, "é" * TAG_LENGTH, tag + "a"):
        assert read_tag(malformed) is None


def test_a_tag_made_before_a_key_rotation_still_opens(app):
    tag = make_tag(Tagged(Sent.INVITATION, 5, 2))
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "the new key " + "n" * 40
    assert read_tag(tag) == Tagged(Sent.INVITATION, 5, 2)


def test_every_email_to_a_graduate_has_its_own_return_path(app, smtp_server):
    invited = make_alumnus(status=AlumnusStatus.INVITED)
    member = make_alumnus(status=AlumnusStatus.INVITED)
    assert invitations.deliver_invitation(invited.id) == "sent"
    answer(member, {Purpose.EVENTS})
    assert invitations.deliver_fresh_link(member.id) == "sent"
    send_now(app, make_campaign(Purpose.EVENTS))
    delivery_id = db.session.scalar(sa.select(Delivery.id).where(Delivery.alumnus_id == member.id))

    expected = [
        Tagged(Sent.INVITATION, invited.id, invited.link_version),
        Tagged(Sent.FRESH_LINK, member.id, member.link_version),
        Tagged(Sent.CAMPAIGN, delivery_id, member.link_version),
    ]
    assert len(smtp_server.envelopes) == 3
    for (sender, _), message, tagged in zip(
        smtp_server.envelopes, smtp_server.messages, expected, strict=True
    ):
        tag = tag_in_address(sender)
        assert sender == f"bounces+{tag}@school.example"
        assert read_tag(tag) == tagged
        assert tag_in_message_id(message["Message-ID"]) == tag
        assert message["Message-ID"].endswith("@school.example>")
        assert message["From"] == app.config["MAIL_FROM"]  # the visible sender is unchanged


def test_without_a_bounce_address_the_envelope_sender_stays_as_it_was(app, smtp_server):
    app.config["BOUNCE_ADDRESS"] = None
    person = make_alumnus(status=AlumnusStatus.INVITED)
    assert invitations.deliver_invitation(person.id) == "sent"
    ((sender, _),) = smtp_server.envelopes
    assert sender == "alumni@demo-college.example"
    # The Message-ID still names the invitation: a bounce that quotes it is attributed.
    tag = tag_in_message_id(smtp_server.messages[0]["Message-ID"])
    assert read_tag(tag) == Tagged(Sent.INVITATION, person.id, person.link_version)


def test_the_tag_is_not_the_open_tracking_token(app, smtp_server):
    """I7: the pixel's token is made apart from the person; the tag from the delivery. Neither
    holds the other, nor any piece of it."""
    person = make_alumnus(status=AlumnusStatus.INVITED)
    answer(person, {Purpose.EVENTS})
    send_now(app, make_campaign(Purpose.EVENTS))
    (message,) = smtp_server.messages
    ((sender, _),) = smtp_server.envelopes
    tag = tag_in_address(sender)
    html = message.get_body(preferencelist=("html",)).get_content()
    token = html.split("/o/")[1].split(".gif")[0]
    for length in (8, 12):
        pieces = {tag[i : i + length] for i in range(len(tag) - length + 1)}
        assert not any(piece in token.lower() for piece in pieces)


@pytest.mark.parametrize(
    "value", ["bounces+x@school.example", "no-at-sign", "b" * 33 + "@school.example"]
)
def test_a_bounce_address_that_cannot_carry_a_tag_stops_the_app(tmp_path: Path, value):
    with pytest.raises(ValueError, match="BOUNCE_ADDRESS"):
        load_config(tmp_path, {"BOUNCE_ADDRESS": value})
