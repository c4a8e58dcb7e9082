"""Bounces for tests: a person who got a campaign email, and the corpus's messages written
for them (``@@TAG@@``, ``@@ADDRESS@@`` and ``@@MSGID@@`` filled in)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alumni.bounces.verp import tag_in_message_id
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, Delivery
from alumni.models.purpose import Purpose
from tests.support.factories import answer, make_alumnus, make_campaign, send_now

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bounces"
BOUNCE_ADDRESS = "bounces@school.example"


@dataclass
class Mailed:
    """A person who got one campaign email, and how that email can be recognised."""

    alumnus: Alumnus
    address: str
    message_id: str
    tag: str
    delivery_id: int

    def message(self, name: str, **values: str) -> bytes:
        """The corpus file, written for this person's email."""
        text = (CORPUS / name).read_text()
        fills = {"TAG": self.tag, "ADDRESS": self.address, "MSGID": self.message_id, **values}
        for key, value in fills.items():
            text = text.replace(f"@@{key}@@", value)
        return text.encode()


def mailed_person(app: Any, outbox: list[Any], **fields: Any) -> Mailed:
    """A person who said yes to events and got the events campaign's email."""
    person = make_alumnus(status=AlumnusStatus.INVITED, **fields)
    answer(person, {Purpose.EVENTS, Purpose.COURSES})
    send_now(app, make_campaign(Purpose.EVENTS))
    (email,) = [m for m in outbox if m["To"] == person.email]
    tag = tag_in_message_id(email["Message-ID"])
    assert tag is not None
    delivery_id = db.session.scalar(sa.select(Delivery.id).where(Delivery.alumnus_id == person.id))
    return Mailed(person, person.email, email["Message-ID"], tag, delivery_id)
