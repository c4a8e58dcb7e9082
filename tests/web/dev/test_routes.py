"""The dev outbox shows every mail with its links: only in embedded mode, and only to a browser
on the same machine (loopback); to anyone else it does not exist."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

NAME = "0123456789abcdef0123456789abcdef.eml"
LOOPBACK = ["127.0.0.1", "127.31.4.1", "::1", "::ffff:127.0.0.1"]
ELSEWHERE = ["192.0.2.10", "10.0.0.1", "0.0.0.0", "::ffff:192.0.2.10", "2001:db8::1", "::", ""]


@pytest.fixture
def config_overrides():
    return {"DEV_OUTBOX": True}


@pytest.fixture
def stored_mail(app) -> str:
    message = EmailMessage()
    message["To"] = "sanne@alumni.example"
    message["Subject"] = "Uitnodiging"
    message.set_content("Je link: http://alumni.test/optin/token")
    outbox = Path(app.config["OUTBOX_PATH"])
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / NAME).write_bytes(bytes(message))
    return message["Subject"]


@pytest.mark.parametrize("address", LOOPBACK)
def test_the_outbox_answers_this_machine(app, client, stored_mail, address):
    listing = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": address})
    assert listing.status_code == 200
    assert stored_mail in listing.get_data(as_text=True)
    mail = client.get(f"/dev/outbox/{NAME}", environ_base={"REMOTE_ADDR": address})
    assert mail.status_code == 200


@pytest.mark.parametrize("address", ELSEWHERE)
def test_the_outbox_does_not_exist_for_other_machines(app, client, stored_mail, address):
    for url in ("/dev/outbox", f"/dev/outbox/{NAME}"):
        response = client.get(url, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 404
        assert stored_mail not in response.get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"DEV_OUTBOX": True, "TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_on_this_machine_the_real_client_counts(app, client, stored_mail):
    outside = {"X-Forwarded-For": "203.0.113.5"}
    assert client.get("/dev/outbox", headers=outside).status_code == 404
    inside = {"X-Forwarded-For": "127.0.0.1"}
    assert client.get("/dev/outbox", headers=inside).status_code == 200


@pytest.mark.parametrize("config_overrides", [{"DEV_OUTBOX": False}])
def test_outside_embedded_mode_the_outbox_does_not_exist_even_for_this_machine(
    app, client, stored_mail
):
    assert client.get("/dev/outbox").status_code == 404
