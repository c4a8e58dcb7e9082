"""MAX_CONTENT_LENGTH: a body over the limit is answered 413 before it is read, with the
friendly page (JSON under /api/); a body of unknown length is cut off at the limit. The staff
import's own larger limit is tested in test_staff_import.py."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from alumni.accounts.api_tokens import create_token
from alumni.config import load_config
from alumni.extensions import db
from tests.support.alumni_pages import csrf_token
from tests.support.factories import make_staff
from tests.support.request_bodies import MB, CountingBody, send_body

FORM = "application/x-www-form-urlencoded"
MULTIPART = 'multipart/form-data; boundary="boundary"'
FILE_PART = (
    b"--boundary\r\n"
    b'Content-Disposition: form-data; name="email"; filename="large.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)
STARTS = {FORM: b"email=", MULTIPART: FILE_PART}


@pytest.fixture
def visitor(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_limit_is_one_megabyte_unless_configured(tmp_path):
    assert load_config(tmp_path, {})["MAX_CONTENT_LENGTH"] == MB
    assert load_config(tmp_path, {"MAX_CONTENT_LENGTH": "2048"})["MAX_CONTENT_LENGTH"] == 2048


@pytest.mark.parametrize("content_type", [FORM, MULTIPART])
def test_a_20_mb_post_to_link_is_refused_before_it_is_read(app, visitor, content_type):
    body = CountingBody(20 * MB, STARTS[content_type])
    response = send_body(visitor, "/link", body, content_type)
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "This is more than we accept" in page
    assert 'href="/link"' in page and "Traceback" not in page
    assert body.read_count == 0  # not read, so neither kept in memory nor spooled to disk


def test_the_refusal_speaks_dutch_by_default(app, client):
    response = send_body(client, "/link", CountingBody(20 * MB, b"email="), FORM)
    assert response.status_code == 413
    assert "Dit is meer dan we aannemen" in response.get_data(as_text=True)


def test_a_body_nothing_would_read_is_refused_too(app, visitor):
    body = CountingBody(20 * MB)
    response = send_body(visitor, "/link", body, "application/octet-stream", method="GET")
    assert response.status_code == 413
    assert body.read_count == 0


@pytest.mark.parametrize("content_type", [FORM, MULTIPART])
def test_a_chunked_body_is_cut_off_at_the_limit(app, visitor, content_type):
    body = CountingBody(20 * MB, STARTS[content_type])
    response = send_body(visitor, "/link", body, content_type, chunked=True)
    assert response.status_code == 413
    assert "This is more than we accept" in response.get_data(as_text=True)
    # Read up to the limit (the length was not known before), and one byte to know it is more.
    assert body.read_count <= app.config["MAX_CONTENT_LENGTH"] + 1


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_the_api_refuses_a_large_body_in_json(app, client, chunked):
    _, raw = create_token(make_staff("officer"))
    db.session.commit()
    body = CountingBody(20 * MB, b'{"purpose": "events", "subject": "')
    response = send_body(
        client,
        "/api/v1/campaigns",
        body,
        "application/json",
        chunked=chunked,
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert json.loads(response.data) == {"error": "request entity too large"}
    assert body.read_count <= (app.config["MAX_CONTENT_LENGTH"] + 1 if chunked else 0)


@pytest.mark.parametrize("config_overrides", [{"MAX_CONTENT_LENGTH": 4096}])
@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_whole(app, visitor, chunked):
    token = csrf_token(visitor.get("/link").get_data(as_text=True))
    start = f"csrf_token={quote(token)}&email=someone%40alumni.example&padding=".encode()
    limit = app.config["MAX_CONTENT_LENGTH"]

    whole = send_body(visitor, "/link", CountingBody(limit, start), FORM, chunked=chunked)
    assert whole.status_code == 200
    assert "Check your email" in whole.get_data(as_text=True)

    one_more = send_body(visitor, "/link", CountingBody(limit + 1, start), FORM, chunked=chunked)
    assert one_more.status_code == 413
