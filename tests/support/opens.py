"""Helpers for open tracking: a campaign sent in process, and the pixels its emails carry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

from flask import Flask

from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import Campaign
from alumni.models.purpose import Purpose
from tests.conftest import finish_jobs
from tests.support.factories import answer, make_alumnus, make_campaign

PIXEL = re.compile(r'<img src="https?://[^"/]+(/o/([A-Za-z0-9_-]+)\.gif)"')


def send_campaign(app: Flask, recipients: int, **fields: Any) -> Campaign:
    """A campaign sent to ``recipients`` alumni who consent to events (in-process worker)."""
    for _ in range(recipients):
        answer(make_alumnus(), {Purpose.EVENTS})
    campaign = make_campaign(Purpose.EVENTS, **fields)
    schedule(campaign)
    db.session.commit()
    sending.tick()
    finish_jobs(app)
    sending.tick()
    db.session.expire_all()
    return campaign


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def pixel_paths(messages: Iterable[EmailMessage]) -> list[str]:
    """The pixel path (``/o/TOKEN.gif``) of each message that has one."""
    paths = []
    for message in messages:
        found = PIXEL.search(html_of(message))
        if found:
            paths.append(found.group(1))
    return paths


def token_of(path: str) -> str:
    return path.removeprefix("/o/").removesuffix(".gif")
