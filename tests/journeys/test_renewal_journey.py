"""The renewal journey with a real SMTP server on loopback: a material notice is published
with the command, the scheduler's tick asks the consenting person again, the email arrives
with its one-click opt-out, and "keep my choices" on the page it links to renews the consent
under the new notice."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.extensions import db
from alumni.models import Consent, ConsentEvidence, EvidenceChannel, utcnow
from alumni.models.purpose import Purpose
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token
from tests.support.factories import answer, make_alumnus


@pytest.fixture
def config_overrides(smtp_server):
    return {"MAIL_BACKEND": None, "SMTP_URL": smtp_server.url}


def test_a_material_notice_is_answered_with_keep(app, client, runner, smtp_server, tmp_path: Path):
    person = make_alumnus(email="sanne@alumni.example")
    answer(person, {Purpose.EVENTS, Purpose.SURVEYS})
    bystander = make_alumnus(email="daan@alumni.example")  # invited, never answered
    (tmp_path / "nl.md").write_text("# Privacyverklaring\n\nNieuw: enquêtes.\n", encoding="utf-8")
    (tmp_path / "en.md").write_text("# Privacy notice\n\nNew: surveys.\n", encoding="utf-8")
    result = runner.invoke(
        args=[
            "notice",
            "publish",
            "--version",
            "2027-01",
            "--nl",
            str(tmp_path / "nl.md"),
            "--en",
            str(tmp_path / "en.md"),
            "--material",
        ]
    )
    assert result.exit_code == 0, result.output

    now = utcnow() + timedelta(seconds=1)
    sending.tick(now)
    finish_jobs(app)
    sending.tick(now)

    assert smtp_server.recipients() == ["sanne@alumni.example"]
    assert bystander.email not in smtp_server.recipients()
    (mail,) = smtp_server.messages
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "/privacy/2027-01" in text
    keep = re.search(r"http://alumni\.test(/renewal/\S+)", text).group(1)
    assert keep in mail.get_body(preferencelist=("html",)).get_content()

    page = client.get(keep)
    assert page.status_code == 200
    response = client.post(keep, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 200

    db.session.expire_all()
    renewed = db.session.scalars(
        sa.select(ConsentEvidence).where(
            ConsentEvidence.subject_id == person.subject_id,
            ConsentEvidence.channel == EvidenceChannel.RENEWAL,
        )
    ).all()
    assert {(e.purpose, e.notice_version) for e in renewed} == {
        (Purpose.EVENTS, "2027-01"),
        (Purpose.SURVEYS, "2027-01"),
    }
    consents = db.session.scalars(sa.select(Consent).where(Consent.alumnus_id == person.id))
    assert {c.notice_version for c in consents if c.granted} == {"2027-01"}
