"""The invitation's own opt-out, "do not contact me": RFC 8058 headers on every invitation, a
one-click that erases and suppresses the person for good, and a page with one button."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from alumni.core.pseudonyms import email_suppression_key, student_suppression_key
from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, ErasureRequest, EvidenceChannel, Suppression
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token
from tests.support.factories import CSV_HEADER, answer, make_alumnus

CSV = "\n".join(
    [
        CSV_HEADER,
        "S3001,Bram,Kok,,bram.kok@alumni.example,,m,1999-05-05,Logistiek,2021",
        "S3002,Iris,Dekker,,iris.dekker@alumni.example,,f,2000-06-06,Logistiek,2021",
    ]
)


def one_click(app, url: str):
    client = app.test_client(use_cookies=False)
    return client.post(url, data={"List-Unsubscribe": "One-Click"})


def decline_url_of(message) -> str:
    """The https one of the two List-Unsubscribe addresses, as a path on this site."""
    header = str(message["List-Unsubscribe"])
    url = re.search(r"<(https?://[^>]+)>", header).group(1)
    return url.removeprefix("http://alumni.test")


def test_every_invitation_carries_a_one_click_do_not_contact_me(app, runner, outbox):
    alumnus = make_alumnus(status=AlumnusStatus.IMPORTED)
    assert runner.invoke(args=["invite"]).exit_code == 0
    (message,) = outbox
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"])
    assert "<mailto:" in header and "?subject=unsubscribe%20" in header
    url = decline_url_of(message)
    assert url.startswith("/decline/")
    # The same link, visible, in both parts of the email.
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert url in text and url in html
    assert alumnus.email not in header


def test_the_invitation_one_click_erases_suppresses_and_survives_a_new_import(
    app, runner, outbox, tmp_path: Path
):
    csv_file = tmp_path / "graduates.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    assert runner.invoke(args=["import", str(csv_file)]).exit_code == 0
    assert runner.invoke(args=["invite"]).exit_code == 0
    bram = next(m for m in outbox if m["To"] == "bram.kok@alumni.example")
    response = one_click(app, decline_url_of(bram))
    assert response.status_code == 200
    assert 'data-outcome="declined"' in response.get_data(as_text=True)
    finish_jobs(app)
    db.session.expire_all()

    erased = db.session.scalar(sa.select(Alumnus).where(Alumnus.status == AlumnusStatus.ERASED))
    assert erased is not None and erased.email is None and erased.first_name is None
    request = db.session.scalar(sa.select(ErasureRequest))
    assert request.channel is EvidenceChannel.ONE_CLICK
    suppressed = set(db.session.scalars(sa.select(Suppression.key_hash)))
    assert email_suppression_key("bram.kok@alumni.example") in suppressed
    # The student number is suppressed too: a new address in the school's export does not help.
    from alumni.core.pseudonyms import student_key

    assert student_suppression_key(student_key("S3001")) in suppressed

    outbox.clear()
    again = runner.invoke(args=["import", str(csv_file)])
    assert again.exit_code == 0, again.output
    # "line 2: rejected (suppressed): ...", in the CLI's language: the code is the same in both.
    assert re.search(r"^\D*2\D.*\(suppressed\)", again.output, re.M), again.output
    invited = runner.invoke(args=["invite"])
    assert invited.exit_code == 0
    assert outbox == []  # nobody new to invite: Iris was invited before, Bram never again


def test_a_second_one_click_says_nothing_was_left(app):
    alumnus = make_alumnus()
    url = "/decline/" + make_token(LinkKind.DECLINE, alumnus)
    assert 'data-outcome="declined"' in one_click(app, url).get_data(as_text=True)
    finish_jobs(app)
    response = one_click(app, url)
    assert response.status_code == 200
    assert 'data-outcome="done-before"' in response.get_data(as_text=True)


def test_a_tampered_decline_is_refused_and_changes_nothing(app):
    alumnus = make_alumnus()
    token = make_token(LinkKind.DECLINE, alumnus)
    response = one_click(
        app, "/decline/" + token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.INVITED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_the_page_asks_first_shows_nothing_personal_and_its_button_erases(app, client):
    from tests.support.privacy import distinctive_alumnus, found_in, personal_values

    alumnus = distinctive_alumnus()
    url = "/decline/" + make_token(LinkKind.DECLINE, alumnus)
    page = client.get(url).get_data(as_text=True)
    assert found_in(page, personal_values(alumnus)) == []
    assert "/preferences/" not in page and "/optin/" not in page and "/my-data/" not in page
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.INVITED  # the GET changed nothing
    assert client.post(url, data={}).status_code == 400  # the button needs its CSRF token
    response = client.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    assert found_in(response.get_data(as_text=True), personal_values(alumnus)) == []
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED


@pytest.mark.parametrize("granted", [set(), {Purpose.EVENTS}])
def test_declining_after_answering_ends_every_consent_too(app, granted):
    alumnus = make_alumnus()
    token = make_token(LinkKind.DECLINE, alumnus)
    if granted:
        answer(alumnus, granted)
    assert one_click(app, "/decline/" + token).status_code == 200
    finish_jobs(app)
    db.session.expire_all()
    assert alumnus.status is AlumnusStatus.ERASED
