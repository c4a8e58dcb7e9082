"""The bounce mailbox against a real Dovecot on loopback: IMAP and POP3, plain and TLS.

Every message leaves the mailbox only after its handler returned; a handler that raises leaves
it for the next poll; a broken connection is a result, never an exception, and no log line
names the mailbox's user, its password or its URL.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import pytest

from alumni.bounces import mailbox
from alumni.bounces.mailbox import PollError, PollResult, parse_url
from tests.support.dovecot import PASSWORD, USER


def message(number: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@relay.test\r\nTo: bounces@school.test\r\n"
        f"Subject: Undelivered Mail {number}\r\n\r\nbody {number}\r\n"
    ).encode()


class Recorder:
    """A handler that keeps what it got, and raises for the messages it is told to refuse."""

    def __init__(self, *refused: int) -> None:
        self.got: list[bytes] = []
        self.refused = {message(number) for number in refused}

    def __call__(self, raw: bytes) -> None:
        self.got.append(raw)
        if raw in self.refused:
            raise RuntimeError("the database went away")


def assert_nothing_secret_logged(caplog: pytest.LogCaptureFixture, url: str) -> None:
    text = caplog.text
    for secret in (USER, "bounces%40school.test", PASSWORD, quote(PASSWORD, safe=""), url):
        assert secret not in text


# -- the URL ----------------------------------------------------------------------------------


def test_the_url_is_taken_apart_with_percent_decoded_credentials():
    address = parse_url("imaps://bounces%40school.test:p%40ss%3Aw%2Frd%20100%25@mail.test/INBOX")
    assert (address.scheme, address.host, address.port) == ("imaps", "mail.test", 993)
    assert (address.user, address.password) == (USER, PASSWORD)
    assert (address.folder, address.done_folder) == ("INBOX", None)
    assert PASSWORD not in repr(address)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("imaps://u:p@mail.test", ("imaps", 993, "INBOX", None)),
        (
            "imaps://u:p@mail.test:1993/Bounces?done=Processed",
            ("imaps", 1993, "Bounces", "Processed"),
        ),
        ("pop3s://u:p@mail.test", ("pop3s", 995, "", None)),
        ("imap://u:p@127.0.0.1/", ("imap", 143, "INBOX", None)),
        ("pop3://u:p@localhost", ("pop3", 110, "", None)),
    ],
)
def test_ports_and_folders(url, expected):
    address = parse_url(url)
    assert (address.scheme, address.port, address.folder, address.done_folder) == expected


@pytest.mark.parametrize(
    ("url", "message_part"),
    [
        ("https://u:secret@mail.test", "must start with imaps://"),
        ("imaps://mail.test", "user name and password"),
        ("imaps://u@mail.test", "user name and password"),
        ("imaps://u:secret@/INBOX", "no host"),
        ("imap://u:secret@mail.test", "only for this machine"),
        ("pop3://u:secret@mail.test", "only for this machine"),
        ("imaps://u:secret@mail.test:99999", "the port"),
        ("pop3s://u:secret@mail.test/INBOX", "POP3 has no folders"),
        ("pop3s://u:secret@mail.test?done=Processed", "POP3 has no folders"),
        ("imaps://u:secret@mail.test?insecure=1", "unknown option 'insecure'"),
        ("imaps://u:s%C3%A9cret@mail.test", "must be ASCII"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_without_repeating_it(url, message_part):
    with pytest.raises(ValueError, match=message_part) as refused:
        parse_url(url)
    assert "secret" not in str(refused.value)


def test_a_bad_url_is_a_result_and_a_log_line(caplog):
    result = mailbox.poll("imaps://u:secret@mail.test?insecure=1", Recorder())
    assert result == PollResult(error=PollError.BAD_URL)
    assert "unknown option" in caplog.text
    assert "secret" not in caplog.text


# -- deleting, moving, keeping ----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["imap", "pop3"])
def test_handled_messages_are_deleted(dovecot, scheme):
    dovecot.deliver(message(1), message(2))
    handle = Recorder()
    result = mailbox.poll(dovecot.url(scheme), handle)
    assert result == PollResult(handled=2)
    assert handle.got == [message(1), message(2)]
    assert dovecot.messages() == []


def test_imap_moves_handled_messages_to_the_done_folder(dovecot):
    dovecot.deliver(message(1), message(2))
    result = mailbox.poll(dovecot.url("imap", path="/INBOX", query="done=Processed"), Recorder())
    assert result == PollResult(handled=2)
    assert dovecot.messages() == []
    assert dovecot.messages("Processed") == [message(1), message(2)]


def test_imap_reads_the_folder_of_the_url(dovecot):
    dovecot.deliver(message(1))
    with dovecot.client() as client:
        client.create('"Bounces 2026"')
    dovecot.deliver(message(2), folder='"Bounces 2026"')
    handle = Recorder()
    result = mailbox.poll(dovecot.url("imap", path="/Bounces%202026"), handle)
    assert (result, handle.got) == (PollResult(handled=1), [message(2)])
    assert dovecot.messages() == [message(1)]


@pytest.mark.parametrize("scheme", ["imap", "pop3"])
def test_a_message_whose_handler_raises_stays_for_the_next_poll(dovecot, scheme, caplog):
    dovecot.deliver(message(1), message(2), message(3))
    refusing = Recorder(2)
    result = mailbox.poll(dovecot.url(scheme), refusing)
    assert result == PollResult(handled=2, failed=1)
    assert refusing.got == [message(1), message(2), message(3)]  # the poll went on after 2
    assert dovecot.messages() == [message(2)]
    assert "not handled (RuntimeError); it stays for the next poll" in caplog.text
    assert "Undelivered" not in caplog.text and "MAILER-DAEMON" not in caplog.text

    handle = Recorder()
    assert mailbox.poll(dovecot.url(scheme), handle) == PollResult(handled=1)
    assert handle.got == [message(2)]
    assert dovecot.messages() == []
    assert_nothing_secret_logged(caplog, dovecot.url(scheme))


@pytest.mark.parametrize("scheme", ["imap", "pop3"])
def test_over_the_limit_messages_wait_for_the_next_poll(dovecot, scheme):
    dovecot.deliver(message(1), message(2), message(3))
    handle = Recorder()
    assert mailbox.poll(dovecot.url(scheme), handle, limit=2) == PollResult(handled=2, kept=1)
    assert dovecot.messages() == [message(3)]
    assert mailbox.poll(dovecot.url(scheme), handle, limit=2) == PollResult(handled=1)
    assert handle.got == [message(1), message(2), message(3)]


class Interrupted(BaseException):
    """The process stops mid-poll (a signal): nothing catches it on the way out."""


def test_pop3_commits_no_deletion_when_the_poll_breaks_off(dovecot):
    """POP3 deletes at QUIT only: a poll cut short deletes nothing, so nothing is lost; the
    message handled before the break is offered again, which a handler must accept."""
    dovecot.deliver(message(1), message(2))

    def stopping(raw: bytes) -> None:
        if raw == message(2):
            raise Interrupted

    with pytest.raises(Interrupted):
        mailbox.poll(dovecot.url("pop3"), stopping)
    assert dovecot.messages() == [message(1), message(2)]
    handle = Recorder()
    assert mailbox.poll(dovecot.url("pop3"), handle) == PollResult(handled=2)
    assert handle.got == [message(1), message(2)]


def test_imap_does_not_offer_again_what_was_handled_before_the_poll_broke_off(dovecot):
    """A handled message is marked \\Deleted at once; the EXPUNGE of the next poll removes it."""
    dovecot.deliver(message(1), message(2))

    def stopping(raw: bytes) -> None:
        if raw == message(2):
            raise Interrupted

    with pytest.raises(Interrupted):
        mailbox.poll(dovecot.url("imap"), stopping)
    handle = Recorder()
    assert mailbox.poll(dovecot.url("imap"), handle) == PollResult(handled=1)
    assert handle.got == [message(2)]
    assert dovecot.messages() == []


# -- failures: a result and a log line, never an exception --------------------------------------


@pytest.mark.parametrize("scheme", ["imap", "pop3", "imaps", "pop3s"])
def test_a_wrong_password_is_a_clear_result(dovecot, scheme, caplog):
    dovecot.deliver(message(1))
    url = dovecot.url(scheme, password="wrong password")
    result = mailbox.poll(url, Recorder(), ca_file=str(dovecot.ca_file))
    assert result == PollResult(error=PollError.LOGIN_REFUSED)
    assert "login-refused: the server refused the user name or password" in caplog.text
    assert dovecot.messages() == [message(1)]
    assert_nothing_secret_logged(caplog, url)
    assert "wrong password" not in caplog.text


@pytest.mark.parametrize("scheme", ["imap", "pop3"])
def test_an_unreachable_server_is_a_clear_result(dovecot, scheme, caplog):
    from tests.support.dovecot import free_port

    url = dovecot.url(scheme, port=free_port())  # nothing listens there
    assert mailbox.poll(url, Recorder()) == PollResult(error=PollError.UNREACHABLE)
    assert f"unreachable: no connection to 127.0.0.1:{url.rsplit(':', 1)[1]}" in caplog.text
    assert "Connection refused" in caplog.text
    assert_nothing_secret_logged(caplog, url)


def test_a_host_that_does_not_exist_is_a_clear_result(caplog):
    url = "imaps://u:secret@mail.nowhere.invalid/INBOX"  # .invalid never resolves (RFC 2606)
    assert mailbox.poll(url, Recorder()) == PollResult(error=PollError.UNREACHABLE)
    assert "unreachable: no connection to mail.nowhere.invalid:993 (imaps)" in caplog.text
    assert "secret" not in caplog.text


def test_a_folder_that_does_not_exist_is_a_clear_result(dovecot, caplog):
    dovecot.deliver(message(1))
    result = mailbox.poll(dovecot.url("imap", path="/Nowhere"), Recorder())
    assert result == PollResult(error=PollError.NO_SUCH_FOLDER)
    assert dovecot.messages() == [message(1)]


# -- TLS --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_tls_with_the_schools_own_certificate_authority(dovecot, scheme, caplog):
    dovecot.deliver(message(1))
    handle = Recorder()
    result = mailbox.poll(dovecot.url(scheme), handle, ca_file=str(dovecot.ca_file))
    assert (result, handle.got) == (PollResult(handled=1), [message(1)])
    assert dovecot.messages() == []
    assert_nothing_secret_logged(caplog, dovecot.url(scheme))


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_tls_refuses_a_certificate_nobody_vouches_for(dovecot, scheme, caplog):
    """Without the CA file the system's authorities are trusted, and none signed this one."""
    dovecot.deliver(message(1))
    handle = Recorder()
    assert mailbox.poll(dovecot.url(scheme), handle) == PollResult(error=PollError.TLS)
    assert handle.got == [] and dovecot.messages() == [message(1)]
    assert "certificate not trusted" in caplog.text
    assert "BOUNCE_MAILBOX_CA_FILE" in caplog.text


def test_tls_to_a_plain_port_is_a_clear_result(dovecot):
    url = dovecot.url("imaps", port=dovecot.ports["imap"])
    result = mailbox.poll(url, Recorder(), ca_file=str(dovecot.ca_file))
    assert result == PollResult(error=PollError.TLS)


def test_a_missing_ca_file_is_a_clear_result(dovecot, tmp_path, caplog):
    result = mailbox.poll(dovecot.url("imaps"), Recorder(), ca_file=str(tmp_path / "none.pem"))
    assert result == PollResult(error=PollError.TLS)
    assert "the CA file (BOUNCE_MAILBOX_CA_FILE) cannot be read" in caplog.text


# -- the scheduler's step ---------------------------------------------------------------------


def test_nothing_is_polled_without_a_url(app):
    app.config["BOUNCE_MAILBOX_URL"] = None
    assert mailbox.poll_configured(app, Recorder()) is None


def test_the_step_polls_when_due(app, dovecot):
    app.config |= {"BOUNCE_MAILBOX_URL": dovecot.url("imap"), "BOUNCE_POLL_SECONDS": 60}
    dovecot.deliver(message(1))
    handle = Recorder()
    assert mailbox.poll_configured(app, handle, now=1000.0) == PollResult(handled=1)
    dovecot.deliver(message(2))
    assert mailbox.poll_configured(app, handle, now=1059.0) is None
    assert mailbox.poll_configured(app, handle, now=1060.0) == PollResult(handled=1)
    assert handle.got == [message(1), message(2)]
    assert app.extensions["metrics"].all() == {"alumni_bounce_mailbox_polls|ok": 2}


def test_the_step_trusts_the_configured_certificate_authority(app, dovecot):
    app.config |= {
        "BOUNCE_MAILBOX_URL": dovecot.url("pop3s"),
        "BOUNCE_MAILBOX_CA_FILE": str(dovecot.ca_file),
        "BOUNCE_POLL_SECONDS": 60,
    }
    dovecot.deliver(message(1))
    assert mailbox.poll_configured(app, Recorder(), now=1000.0) == PollResult(handled=1)


def test_a_backlog_is_polled_again_at_the_next_tick(app, dovecot, monkeypatch):
    monkeypatch.setattr(mailbox, "MESSAGES_PER_POLL", 2)
    app.config |= {"BOUNCE_MAILBOX_URL": dovecot.url("pop3"), "BOUNCE_POLL_SECONDS": 60}
    dovecot.deliver(message(1), message(2), message(3))
    handle = Recorder()
    assert mailbox.poll_configured(app, handle, now=1000.0) == PollResult(handled=2, kept=1)
    assert mailbox.poll_configured(app, handle, now=1001.0) == PollResult(handled=1)
    assert mailbox.poll_configured(app, handle, now=1002.0) is None


def test_a_failed_poll_waits_the_interval(app, dovecot, caplog):
    url = dovecot.url("imap", password="wrong")
    app.config |= {"BOUNCE_MAILBOX_URL": url, "BOUNCE_POLL_SECONDS": 60}
    assert mailbox.poll_configured(app, Recorder(), now=1000.0).error == PollError.LOGIN_REFUSED
    assert mailbox.poll_configured(app, Recorder(), now=1030.0) is None
    assert_nothing_secret_logged(caplog, url)
    assert app.extensions["metrics"].all() == {"alumni_bounce_mailbox_polls|login-refused": 1}


def test_a_mailbox_url_that_cannot_be_used_stops_the_app(tmp_path):
    from alumni.config import load_config

    with pytest.raises(ValueError, match="only for this machine") as refused:
        load_config(tmp_path, {"BOUNCE_MAILBOX_URL": "imap://u:secret@mail.test/INBOX"})
    assert "secret" not in str(refused.value)
    config = load_config(tmp_path, {})
    assert (config["BOUNCE_MAILBOX_URL"], config["BOUNCE_POLL_SECONDS"]) == (None, 60.0)


def test_logs_name_messages_by_number_only(dovecot, caplog):
    caplog.set_level(logging.DEBUG)
    dovecot.deliver(message(1))
    mailbox.poll(dovecot.url("imap"), Recorder(1))
    assert re.search(r"message \d+ not handled", caplog.text)
    assert "Undelivered" not in caplog.text and "school.test" not in caplog.text
