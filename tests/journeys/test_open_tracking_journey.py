"""Open tracking end to end (I7): a campaign to 50 alumni through the real pipeline (dramatiq
workers on Redis, an SMTP server on loopback, gunicorn as the web process). Every token is
collected from the SMTP server; 20 of them are opened, some twice. The counts come out exact,
and a full database dump, the whole Redis keyspace and all log output hold no record that
ties a token to a recipient; nor the address, user agent or referrer of an open."""

from __future__ import annotations

import base64
import logging
import re
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from alumni.accounts.api_tokens import create_token
from alumni.bounces.verp import read_tag, tag_in_address
from alumni.campaigns import sending
from alumni.extensions import db
from alumni.models import Alumnus, Campaign, CampaignStatus, Delivery
from alumni.models.purpose import Purpose
from alumni.opens import flush_opens
from alumni.opens.pixel import PIXEL
from alumni.opens.tokens import make_token, parse_token
from tests.conftest import REDIS_URL, free_port
from tests.journeys.conftest import redis_config
from tests.support.dumps import database_dump, redis_dump
from tests.support.factories import answer, make_alumnus, make_staff
from tests.support.opens import html_of, pixel_paths, text_of, token_of
from tests.support.workers import start_web, start_worker, stop, wait_for, worker_environment

RECIPIENTS = 50
OPENED = 20
OPENED_TWICE = 7
# What an open could leave behind about the person opening: none of it may be stored.
CLIENT_MARKS = {
    "User-Agent": "Mozilla/5.0 (MarkedAgent-7f3e)",
    "Referer": "https://webmail.example/inbox/marked-referrer-91c2",
    "X-Forwarded-For": "203.0.113.66",
    "Cookie": "tracker=marked-cookie-55aa",
}


BOUNCE_ADDRESS = "bounces@school.example"


@pytest.fixture
def config_overrides(smtp_server, redis_namespace):
    return redis_config(
        smtp_server, redis_namespace, SEND_BATCH_SIZE=10, BOUNCE_ADDRESS=BOUNCE_ADDRESS
    )


def fetch(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + path, headers=CLIENT_MARKS)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def assert_the_pixel(answer_: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer_
    assert status == 200 and body == PIXEL
    assert headers["Content-Type"] == "image/gif"
    assert headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in headers


def is_up(base: str) -> bool:
    try:
        return fetch(base, "/healthz")[0] == 200
    except OSError:
        return False


def token_forms(text: str) -> set[str]:
    """Every way the token or a part of it could have been written down."""
    token = parse_token(text)
    forms = {text, token.nonce.hex(), token.mac.hex(), token.signed_part.hex()}
    for part in (token.nonce, token.mac):
        forms.add(base64.urlsafe_b64encode(part).decode().rstrip("="))
        forms.add(base64.b64encode(part).decode().rstrip("="))
    return forms


def dump_records(dump: str) -> list[tuple[str | None, str]]:
    """(table, line) for each line of a dump: pg_dump's COPY blocks, or SQLite's INSERTs."""
    records: list[tuple[str | None, str]] = []
    table = None
    for line in dump.splitlines():
        copy = re.match(r"COPY public\.(\w+) ", line)
        insert = re.match(r'INSERT INTO "(\w+)"', line)
        if copy:
            table = copy.group(1)
        elif line == "\\.":
            table = None
        records.append((insert.group(1) if insert else table, line))
    return records


@pytest.mark.redis
def test_opens_are_counted_and_nothing_ties_a_token_to_a_recipient(
    app, client, database_url, smtp_server, redis_namespace, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    people = [make_alumnus() for _ in range(RECIPIENTS)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    emails = [person.email for person in people]
    _, api_token = create_token(make_staff(role="officer"))
    db.session.commit()
    bearer = {"Authorization": f"Bearer {api_token}"}

    env = worker_environment(
        database_url,
        redis_namespace,
        smtp_server.url,
        SEND_BATCH_SIZE="10",
        BOUNCE_ADDRESS=BOUNCE_ADDRESS,
    )
    log = tmp_path / "processes.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_web(env, log, port)
    processes = [start_worker(env, log) for _ in range(2)] + [web]
    try:
        created = client.post(
            "/api/v1/campaigns",
            json={"purpose": "events", "subject": "Reünie", "body": "Kom je ook?"},
            headers=bearer,
        ).get_json()
        assert created["tracking"] is True
        campaign_id = created["id"]
        assert (
            client.post(f"/api/v1/campaigns/{campaign_id}/schedule", headers=bearer).status_code
            == 200
        )

        def sent() -> bool:
            sending.tick()
            db.session.expire_all()
            return db.session.get(Campaign, campaign_id).status is CampaignStatus.SENT

        assert wait_for(sent, timeout=120, step=0.5), log.read_text()
        assert wait_for(lambda: is_up(base), timeout=60), log.read_text()

        # Every token, from the mail server: one per email, and each a genuine one.
        messages = list(smtp_server.messages)
        assert sorted(m["To"] for m in messages) == sorted(emails)
        paths = pixel_paths(messages)
        tokens = [token_of(path) for path in paths]
        assert len(set(tokens)) == len(messages) == RECIPIENTS
        campaign = db.session.get(Campaign, campaign_id)
        assert all(parse_token(t).is_signed_with(campaign.tracking_key) for t in tokens)
        for message in messages:
            assert "/o/" not in text_of(message)
            assert re.search(
                r'<img src="[^"]+/o/[\w-]+\.gif" width="1" height="1" alt=""', html_of(message)
            )

        # 20 opened, 7 of them twice; forged and malformed ones count nothing.
        requests = paths[:OPENED] + paths[:OPENED_TWICE]
        for path in requests:
            assert_the_pixel(fetch(base, path))
        forged = [
            f"/o/{make_token(campaign_id, 'f' * 64)}.gif",
            f"/o/{tokens[0][:-2]}AA.gif",
            f"/o/{tokens[0][:-1]}.gif",
            "/o/not-a-token.gif",
        ]
        for path in forged:
            assert_the_pixel(fetch(base, path))

        # The scheduler's part: the web workers push their opens to Redis twice a second.
        flushed: list[int] = []
        assert wait_for(lambda: flushed.append(flush_opens()) or sum(flushed) >= len(requests))
        opens = client.get(f"/api/v1/campaigns/{campaign_id}", headers=bearer).get_json()["opens"]
        assert opens == {"total": len(requests), "unique": OPENED}
        stop(web)  # a web process that stops pushes what it still holds: nothing more here
        assert flush_opens() == 0
    finally:
        for process in processes:
            stop(process)

    # Every log line of the workers, the web server and this process (the scheduler's flush,
    # the API); not those of the SMTP sink, which plays the recipient's mail server.
    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]
    logs = log.read_text() + "\n" + "\n".join(record.getMessage() for record in ours)
    assert "GET /healthz" in logs  # the web server's access log is there, and was read
    assert "/o/" not in logs  # and leaves the pixel out
    stored = {"database": database_dump(database_url), "redis": redis_dump(REDIS_URL), "logs": logs}

    # No token, nor any part of one, is stored or logged anywhere.
    for token in tokens:
        for form in token_forms(token):
            for place, text in stored.items():
                assert form not in text, f"a form of a token is in the {place}"

    # The return path of each email has its own tag, which names the delivery of that email
    # (issue 14). It is stored nowhere, and no token is found in a tag or a tag in a token.
    envelopes = list(smtp_server.envelopes)
    tags = [tag_in_address(sender) for sender, _ in envelopes]
    assert all(tags) and len(set(tags)) == RECIPIENTS
    for (sender, recipients), tag in zip(envelopes, tags, strict=True):
        assert sender == f"bounces+{tag}@school.example"
        delivery = db.session.get(Delivery, read_tag(tag).id)
        assert db.session.get(Alumnus, delivery.alumnus_id).email == recipients[0]
        for place, text in stored.items():
            assert tag not in text.lower(), f"a return path's tag is in the {place}"
        assert not any(form.lower() in tag for token in tokens for form in token_forms(token))
        assert not any(tag in token.lower() for token in tokens)

    # What is kept of an opened token (its digest) is only in opened_tokens, which holds a
    # campaign and a digest: nothing that could point at a person.
    columns = [column["name"] for column in sa.inspect(db.engine).get_columns("opened_tokens")]
    assert columns == ["campaign_id", "digest"]
    records = dump_records(stored["database"])
    for position, token in enumerate(tokens):
        digest = parse_token(token).digest
        tables = {table for table, line in records if digest in line}
        assert tables == ({"opened_tokens"} if position < OPENED else set()), tables
        assert digest not in stored["redis"] and digest not in stored["logs"]

    # Nothing about the client was kept.
    for mark in ("MarkedAgent-7f3e", "marked-referrer-91c2", "203.0.113.66", "marked-cookie-55aa"):
        for place, text in stored.items():
            assert mark not in text, f"{mark} is in the {place}"
    # And the opens say nothing about who: no table names a person next to a campaign's opens.
    for table, line in records:
        if table in ("opened_tokens", "open_counts"):
            assert not any(email in line for email in emails)
