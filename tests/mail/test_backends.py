"""The mail backends: one contract for all, and SMTP's failure classes."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import strategies as st

from alumni.mail import (
    Email,
    MemoryBackend,
    OutboxBackend,
    PermanentFailure,
    SMTPBackend,
    TemporaryFailure,
    build_message,
)
from alumni.mail.backends import _data, dot_stuffed
from alumni.mail.message import OutgoingMessage
from alumni.opens.tokens import make_token
from tests.conftest import SMTPSink, free_port

SENDER = "Alumnibureau <alumni@school.example>"


def sample(to: str = "iemand@alumni.example", subject: str = "Hallo") -> Email:
    return Email(to=to, subject=subject, text="Tekst met é", html="<p>HTML met é</p>")


class Refusing(SMTPSink):
    """Refuses some recipients: 'bounce…' permanently (550), 'later…' for now (451)."""

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server():
    sink = Refusing(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def read_back_memory(backend):
    return backend.outbox


def read_back_outbox(backend):
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(Path(backend.path).glob("*.eml"))
    ]


@pytest.fixture(params=["memory", "outbox", "smtp"])
def backend_and_reader(request, tmp_path):
    if request.param == "memory":
        yield MemoryBackend(), read_back_memory
    elif request.param == "outbox":
        yield OutboxBackend(tmp_path / "outbox"), read_back_outbox
    else:
        sink = request.getfixturevalue("smtp_server")
        backend = SMTPBackend(sink.url, timeout=5)
        yield backend, lambda _backend: sink.messages
        backend.close_all()


def test_every_backend_delivers_the_message_intact(backend_and_reader):
    backend, read_back = backend_and_reader
    for n in range(3):
        backend.send(build_message(sample(subject=f"Bericht {n}"), SENDER))
    backend.close()
    received = read_back(backend)
    assert [message["Subject"] for message in received] == ["Bericht 0", "Bericht 1", "Bericht 2"]
    first = received[0]
    assert first["To"] == "iemand@alumni.example"
    assert first["From"] == SENDER
    assert first["Message-ID"] and first["Date"]
    assert first.get_body(preferencelist=("plain",)).get_content().strip() == "Tekst met é"
    assert "HTML met é" in first.get_body(preferencelist=("html",)).get_content()


def test_the_dev_outbox_keeps_no_pixel_token(tmp_path):
    """A stored copy names its recipient: it must not hold the token of the pixel (I7)."""
    token = make_token(1, "k" * 64)
    html = f'<p>Hallo</p><img src="http://alumni.test/o/{token}.gif" width="1" alt="">'
    message = build_message(Email("iemand@alumni.example", "Nieuws", "Tekst", html), SENDER)
    backend = OutboxBackend(tmp_path / "outbox")
    backend.send(message)
    (stored,) = read_back_outbox(backend)
    stored_html = stored.get_body(preferencelist=("html",)).get_content()
    assert token not in stored_html  # decoded: quoted-printable would break the token up
    assert "/o/kept-out.gif" in stored_html
    assert stored["To"] == "iemand@alumni.example" and stored["Subject"] == "Nieuws"
    # The message that leaves is not changed.
    leaving = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert token in leaving.get_body(preferencelist=("html",)).get_content()


def test_header_values_from_data_cannot_add_headers():
    hostile = "Nieuws\r\nBcc: everyone@elsewhere.example"
    message = build_message(sample(subject=hostile, to="a@alumni.example"), SENDER)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert b"\nBcc:" not in message.as_bytes()


@pytest.mark.parametrize(
    "subject",
    [
        "Reünie van alle lichtingen op 12 juni",
        "Een lange onderwerpregel, met komma's, die over de achtenzeventig tekens heen gaat",
        "Één lange onderwerpregel met accenten, die gevouwen wordt in gecodeerde woorden: ëïö",
    ],
)
def test_headers_survive_the_trip_whatever_their_length_or_letters(subject):
    https, mailto = (
        f"https://alumni.example/u/{'x' * 180}",
        f"mailto:a@b.example?subject={'y' * 150}",
    )
    unsubscribe = f"<{https}>, <{mailto}>"
    email = Email(
        "iemand@alumni.example", subject, "Tekst", "<p>HTML</p>", {"List-Unsubscribe": unsubscribe}
    )
    raw = build_message(email, "Alumnibureau Collège <alumni@school.example>").as_bytes()
    assert all(len(line) < 998 for line in raw.split(b"\n"))
    received = message_from_bytes(raw, policy=policy.default)
    assert received["Subject"] == subject
    assert received["From"].addresses[0].display_name == "Alumnibureau Collège"
    assert received["List-Unsubscribe"] == unsubscribe


def test_smtp_reuses_one_connection_per_thread(smtp_server, monkeypatch):
    backend = SMTPBackend(smtp_server.url, timeout=5)
    connects = []
    original = backend._connect
    monkeypatch.setattr(backend, "_connect", lambda: connects.append(1) or original())
    for n in range(5):
        backend.send(build_message(sample(subject=str(n)), SENDER))
    backend.close_all()
    assert len(smtp_server.messages) == 5
    assert len(connects) == 1


def test_a_refused_address_is_a_permanent_failure(refusing_server):
    backend = SMTPBackend(refusing_server.url, timeout=5)
    with pytest.raises(PermanentFailure) as failure:
        backend.send(build_message(sample(to="bounce@alumni.example"), SENDER))
    assert failure.value.code == 550
    assert "bounce@" not in str(failure.value)  # no address in what may reach a log
    backend.close_all()


def test_a_4xx_answer_is_a_temporary_failure(refusing_server):
    backend = SMTPBackend(refusing_server.url, timeout=5)
    with pytest.raises(TemporaryFailure):
        backend.send(build_message(sample(to="later@alumni.example"), SENDER))
    backend.send(build_message(sample(to="ok@alumni.example"), SENDER))  # recovers
    backend.close_all()
    assert [m["To"] for m in refusing_server.messages] == ["ok@alumni.example"]


def test_an_unreachable_server_is_a_temporary_failure():
    backend = SMTPBackend(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(TemporaryFailure):
        backend.send(build_message(sample(), SENDER))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, False, False, None)),
        ("smtps://u%40x:p%2Fw@mail.example", ("mail.example", 465, True, False, "u@x")),
        ("smtp://mail.example?starttls=1", ("mail.example", 25, False, True, None)),
    ],
)
def test_smtp_url_forms(url, expected):
    backend = SMTPBackend(url)
    assert (backend.host, backend.port, backend.tls, backend.starttls, backend.username) == expected


def test_a_wrong_scheme_is_refused():
    with pytest.raises(ValueError, match="smtp://"):
        SMTPBackend("http://mail.example")


@pytest.mark.parametrize(
    "data",
    [b"", b".", b"..", b".a\r\n", b"a\r\n.\r\nb", b"a\r\n..b\r\n.", b"\n.\n.\r\n.", b"a.b\r\n"],
)
def test_dot_stuffing_is_smtplibs(data):
    assert dot_stuffed(data) == smtplib._quote_periods(data)


@given(st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b".")))
def test_dot_stuffing_is_smtplibs_for_any_bytes(data):
    assert dot_stuffed(data) == smtplib._quote_periods(data)


class Raw(SMTPSink):
    """Keeps each message's bytes as the server has them, after its dot-unstuffing."""

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, [bytes(envelope.original_content)]))
        return "250 OK"


def test_lines_that_start_with_a_dot_arrive_whole():
    sink = Raw(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    backend = SMTPBackend(sink.url, timeout=5)
    try:
        body = b".first\r\n..second\r\n.\r\nafter a lone dot\r\n"
        message = OutgoingMessage("a@school.example", "b@alumni.example", [("Subject", "x")], body)
        backend.send(message)
        unended = OutgoingMessage("a@school.example", "b@alumni.example", [], b".no line end")
        backend.send(unended)
    finally:
        backend.close_all()
        controller.stop()
    # The server reads back what was sent, the last line ended by the client.
    expected = [message.as_bytes(), unended.as_bytes() + b"\r\n"]
    assert [raw for _, [raw] in sink.envelopes] == expected


def test_a_message_refused_after_its_data_is_a_permanent_failure():
    class RefusesData(SMTPSink):
        async def handle_DATA(self, server, session, envelope):
            return "554 5.7.1 Message rejected"

    sink = RefusesData(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    backend = SMTPBackend(sink.url, timeout=5)
    try:
        with pytest.raises(PermanentFailure) as failure:
            backend.send(build_message(sample(), SENDER))
    finally:
        backend.close_all()
        controller.stop()
    assert failure.value.code == 554


def test_a_refused_data_command_sends_no_message():
    class Server:
        """Answers DATA with 451, as a relay short of space does; records what is sent."""

        def __init__(self) -> None:
            self.sent: list[object] = []

        def putcmd(self, command: str) -> None:
            self.sent.append(command)

        def getreply(self) -> tuple[int, bytes]:
            return 451, b"4.3.1 Insufficient system storage"

        def send(self, data: bytes) -> None:
            self.sent.append(data)

    server = Server()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _data(server, b"Subject: x\r\n\r\nbody\r\n")
    assert refused.value.smtp_code == 451
    assert server.sent == ["data"]
