"""The opt-in journey with a real SMTP server on loopback: import, invite, read the mail,
follow its link, answer per purpose, and find the consents and their evidence stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, ConsentEvidence, ConsentState, EvidenceChannel
from alumni.models.purpose import Purpose
from tests.support.factories import CSV_HEADER

CSV = "\n".join(
    [
        CSV_HEADER,
        "S1001,Sanne,de Vries,,sanne@alumni.example,0612345678,v,1999-04-12,Verpleegkunde,2021",
        "S1002,Daan,Jansen,DJ,daan@alumni.example,,m,30-09-2000,Software Developer,2022",
    ]
)
CHOICES = {
    Purpose.COURSES: True,
    Purpose.VACANCIES: False,
    Purpose.EVENTS: True,
    Purpose.RESEARCH: False,
    Purpose.SURVEYS: True,
}


@pytest.fixture
def config_overrides(smtp_server):
    return {"MAIL_BACKEND": None, "SMTP_URL": smtp_server.url}


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def form_values(html: str) -> dict[str, str]:
    """The personal fields as the form shows them (the person keeps them as they are)."""
    inputs = re.findall(r'<input[^>]*\bname="([a-z_]+)"[^>]*\bvalue="([^"]*)"', html)
    values = {name: value for name, value in inputs if name != "csrf_token"}
    values["gender"] = re.search(r'<option selected value="([a-z]+)"', html).group(1)
    return values


def test_invited_graduate_opts_in_per_purpose(app, client, runner, smtp_server, tmp_path: Path):
    csv_file = tmp_path / "graduates.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    assert runner.invoke(args=["import", str(csv_file)]).exit_code == 0
    result = runner.invoke(args=["invite"])
    assert result.exit_code == 0, result.output

    # Both invitations reached the SMTP server before `invite` returned.
    assert sorted(rcpt for _, (rcpt,) in smtp_server.envelopes) == [
        "daan@alumni.example",
        "sanne@alumni.example",
    ]
    mail = next(m for m in smtp_server.messages if m["To"] == "sanne@alumni.example")
    assert mail.is_multipart()
    assert {part.get_content_type() for part in mail.iter_parts()} == {"text/plain", "text/html"}
    assert mail["Message-ID"] and mail["Date"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for purpose in Purpose:  # the email names the five purposes
        assert purpose.label in text
    link = re.search(r"http://alumni\.test(/optin/\S+)", text).group(1)
    assert link in html
    assert "<img" not in html  # invitations carry no tracking pixel

    page = client.get(link)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "checked" not in body  # nothing pre-selected
    values = form_values(body)
    values["preferred_name"] = "Sanne V."  # a correction
    answers = {purpose.value: "yes" if yes else "no" for purpose, yes in CHOICES.items()}
    response = client.post(link, data={"csrf_token": csrf_token(body), **values, **answers})
    assert response.status_code == 200
    assert "/preferences/" in response.get_data(as_text=True)

    alumnus = db.session.scalar(sa.select(Alumnus).where(Alumnus.email == "sanne@alumni.example"))
    assert alumnus.status is AlumnusStatus.RESPONDED
    assert alumnus.preferred_name == "Sanne V."
    assert {c.purpose: c.state is ConsentState.GRANTED for c in alumnus.consents} == CHOICES
    evidence = db.session.scalars(
        sa.select(ConsentEvidence).where(ConsentEvidence.subject_id == alumnus.subject_id)
    ).all()
    assert {e.purpose: e.decision is ConsentState.GRANTED for e in evidence} == CHOICES
    assert {e.channel for e in evidence} == {EvidenceChannel.OPTIN_FORM}
    assert {e.notice_version for e in evidence} == {"2026-11"}  # the first notice, in force
    assert all(e.recorded_at.tzinfo is not None for e in evidence)

    # The same link again leads to the preferences, where the choices are shown.
    again = client.get(link)
    assert again.status_code == 303
    assert "/preferences/" in again.headers["Location"]
    preferences = client.get(again.headers["Location"]).get_data(as_text=True)
    assert re.search(
        r'value="yes"[^>]*checked[^>]*name="courses"|name="courses"[^>]*checked[^>]*value="yes"|checked[^>]*name="courses"[^>]*value="yes"',
        preferences,
    )
