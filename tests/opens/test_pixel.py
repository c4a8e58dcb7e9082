"""GET /o/<token>.gif: always the GIF, no cookie, no-store; counts genuine tokens only (I7).

Without Redis each open goes straight to the database, so the counts are read at once.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from alumni import opens
from alumni.config import load_config
from alumni.extensions import db
from alumni.models import Campaign, OpenedToken
from alumni.opens.pixel import PIXEL
from alumni.opens.report import open_totals
from alumni.opens.tokens import make_token
from alumni.people import emails
from tests.support.dumps import database_dump
from tests.support.factories import make_alumnus, make_campaign
from tests.support.opens import html_of, pixel_paths, send_campaign, text_of, token_of


def totals(campaign_id: int) -> tuple[int, int]:
    db.session.expire_all()
    return open_totals([campaign_id]).get(campaign_id, (0, 0))


def assert_is_the_pixel(response) -> None:
    assert response.status_code == 200
    assert response.mimetype == "image/gif"
    assert response.data == PIXEL
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def campaign(app, outbox) -> Campaign:
    return send_campaign(app, 3)


def test_each_campaign_email_has_its_own_pixel_in_the_html_only(campaign, outbox):
    paths = pixel_paths(outbox)
    assert len(paths) == len(outbox) == 3
    assert len(set(paths)) == 3
    for message in outbox:
        assert "/o/" not in text_of(message)  # the plain text reads the same without it
        image = html_of(message).split("<img", 1)[1].split(">", 1)[0]
        assert 'alt=""' in image  # with images off, nothing shows instead


def test_an_open_is_counted_and_a_second_open_is_not_unique(client, campaign, outbox):
    first, second, _ = pixel_paths(outbox)
    for path in (first, first, second, first):
        assert_is_the_pixel(client.get(path))
    assert totals(campaign.id) == (4, 2)


def test_the_query_string_changes_nothing(client, campaign, outbox):
    path = pixel_paths(outbox)[0]
    assert_is_the_pixel(client.get(path + "?utm_source=x"))
    assert_is_the_pixel(client.get(path))
    assert totals(campaign.id) == (2, 1)


def forged_paths(campaign: Campaign) -> list[str]:
    other = make_campaign()  # a draft: never started, never counted
    genuine = token_of(urlsplit(opens.pixel_url(campaign)).path)
    return [
        f"/o/{make_token(campaign.id, 'f' * 64)}.gif",  # the wrong key
        f"/o/{make_token(other.id, other.tracking_key)}.gif",  # a campaign not sent
        f"/o/{make_token(99999, 'f' * 64)}.gif",  # no such campaign
        f"/o/{genuine[:-2]}AA.gif",  # the MAC changed
        f"/o/{genuine[:-1]}.gif",  # too short
        f"/o/{genuine}A.gif",  # too long
        "/o/" + "*" * 48 + ".gif",
        "/o/kept-out.gif",
        "/o/%00%ff.gif",
        "/o/.gif.gif",
        "/o/abc",
        "/o/a/b/c.gif",
        f"/o/{genuine}.png",
    ]


def test_forged_and_malformed_tokens_get_the_gif_and_are_not_counted(client, campaign):
    for path in forged_paths(campaign):
        assert_is_the_pixel(client.get(path))
    assert totals(campaign.id) == (0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpenedToken)) == 0


def test_no_pixel_and_no_count_for_a_campaign_without_tracking(app, client, outbox):
    campaign = send_campaign(app, 2, tracking=False)
    assert len(outbox) == 2 and pixel_paths(outbox) == []
    assert "<img" not in html_of(outbox[0])
    # Even a correctly signed token is not counted.
    assert_is_the_pixel(client.get(f"/o/{make_token(campaign.id, campaign.tracking_key)}.gif"))
    assert totals(campaign.id) == (0, 0)


@pytest.fixture
def tracking_off(app):
    app.config["OPEN_TRACKING"] = False
    yield
    app.config["OPEN_TRACKING"] = True


def test_tracking_off_for_the_installation_means_no_pixel_and_no_count(
    app, client, outbox, tracking_off
):
    campaign = send_campaign(app, 2)
    assert len(outbox) == 2 and pixel_paths(outbox) == []
    assert_is_the_pixel(client.get(f"/o/{make_token(campaign.id, campaign.tracking_key)}.gif"))
    assert totals(campaign.id) == (0, 0)


def test_the_pixel_sets_no_cookie_even_to_refresh_a_session(app, client, campaign, outbox):
    with client.session_transaction() as session:
        session.permanent = True  # as a staff session is
        session["seen"] = True
    assert "Set-Cookie" in client.get("/link").headers  # other pages refresh it
    response = client.get(pixel_paths(outbox)[0])
    assert_is_the_pixel(response)
    assert totals(campaign.id) == (1, 1)


def test_an_open_stores_no_address_user_agent_or_referrer(
    app, client, campaign, outbox, database_url, caplog
):
    caplog.set_level(logging.DEBUG)
    marks = {
        "REMOTE_ADDR": "198.51.100.77",
        "HTTP_X_FORWARDED_FOR": "203.0.113.66",
        "HTTP_USER_AGENT": "Mozilla/5.0 (MarkedAgent-7f3e)",
        "HTTP_REFERER": "https://mail.example/inbox/marked-referrer-91c2",
        "HTTP_COOKIE": "tracker=marked-cookie-55aa",
    }
    assert_is_the_pixel(client.get(pixel_paths(outbox)[0], environ_base=marks))
    assert totals(campaign.id) == (1, 1)
    dump = database_dump(database_url)
    logged = caplog.text
    for value in ("198.51.100.77", "203.0.113.66", "MarkedAgent-7f3e", "marked-referrer-91c2"):
        assert value not in dump and value not in logged
    assert "marked-cookie-55aa" not in dump


def test_an_open_when_the_database_is_away_still_gets_the_gif(
    app, client, campaign, outbox, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("gone"))

    path = pixel_paths(outbox)[0]
    monkeypatch.setattr(app.extensions["opens"], "record", broken)
    assert_is_the_pixel(client.get(path))
    assert "open not counted: OperationalError" in caplog.text
    assert token_of(path) not in caplog.text


def test_the_pixel_is_first_party(app, campaign, outbox):
    """The image comes from our own BASE_URL: no third party learns of an open."""
    for message in outbox:
        assert f'<img src="{app.config["BASE_URL"]}/o/' in html_of(message)


def test_invitations_and_service_mail_carry_no_pixel(app):
    alumnus = make_alumnus()
    for email in (emails.invitation(alumnus), emails.fresh_link(alumnus)):
        assert "/o/" not in email.html and "<img" not in email.html


def test_head_answers_the_headers_and_counts_nothing(client, campaign, outbox):
    response = client.head(pixel_paths(outbox)[0])
    assert response.status_code == 200 and response.data == b""
    assert response.headers["Content-Type"] == "image/gif"
    assert totals(campaign.id) == (0, 0)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_not_the_pixel_and_no_error(client, campaign, outbox, method):
    response = client.open(pixel_paths(outbox)[0], method=method)
    assert 400 <= response.status_code < 500
    assert totals(campaign.id) == (0, 0)


def test_when_the_campaign_key_cannot_be_read_the_answer_is_still_the_gif(
    app, client, outbox, monkeypatch, caplog
):
    send_campaign(app, 1)
    path = pixel_paths(outbox)[0]

    def broken(campaign_id):
        raise sa.exc.OperationalError("SELECT", {}, Exception("gone"))

    monkeypatch.setattr(app.extensions["opens.keys"], "key", broken)
    assert_is_the_pixel(client.get(path))
    assert "open not counted: OperationalError" in caplog.text


@pytest.mark.parametrize(
    ("value", "on"), [(None, True), ("on", True), ("1", True), ("off", False), ("0", False)]
)
def test_open_tracking_is_on_unless_switched_off(tmp_path, value, on):
    environ = {} if value is None else {"OPEN_TRACKING": value}
    assert load_config(tmp_path, environ)["OPEN_TRACKING"] is on
