"""DKIM: a configured key signs every message, over both List-Unsubscribe headers."""

from __future__ import annotations

import base64
import re
import subprocess

import dkim
import pytest

from alumni import mail
from alumni.mail import Email


@pytest.fixture
def key_pair(tmp_path):
    private = tmp_path / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private, base64.b64encode(public_der)


@pytest.fixture
def config_overrides(request):
    if "key_pair" not in request.fixturenames:
        return {}
    private, _ = request.getfixturevalue("key_pair")
    return {
        "DKIM_PRIVATE_KEY_PATH": str(private),
        "DKIM_SELECTOR": "sel",
        "DKIM_DOMAIN": "school.example",
    }


def test_messages_are_signed_over_the_unsubscribe_headers(app, outbox, key_pair):
    _, public = key_pair
    unsubscribe = "<https://alumni.test/unsubscribe/t>, <mailto:alumni@school.example>"
    mail.send(
        Email(
            to="a@alumni.example",
            subject="Hallo",
            text="tekst",
            html="<p>html</p>",
            headers={
                "List-Unsubscribe": unsubscribe,
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    )
    (message,) = outbox
    signature = message["DKIM-Signature"]
    signed = re.search(r"h=([^;]+)", signature).group(1).replace(" ", "").lower().split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(signed)

    def dns(name, timeout=None):
        assert name == b"sel._domainkey.school.example."
        return b"v=DKIM1; k=rsa; p=" + public

    assert dkim.verify(message.as_bytes(), dnsfunc=dns)
    tampered = message.as_bytes().replace(b"One-Click", b"One-Clack")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_without_a_key_nothing_is_signed(app, outbox):
    mail.send(Email(to="a@alumni.example", subject="Hallo", text="t", html="<p>h</p>"))
    assert outbox[0]["DKIM-Signature"] is None
