"""The web server's access log names no person (tokens, addresses, open tracking)."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from alumni.web.access_log import PrivacyLogger, redact

TOKEN = "WyJhYmMiLDFd.awPLfg.j4dFdo3jgTzRAIJvMIaOkCQ85Ro"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/optin/{TOKEN}", "/optin/[token]"),
        (f"/preferences/{TOKEN}", "/preferences/[token]"),
        (f"/unsubscribe/{TOKEN}", "/unsubscribe/[token]"),
        (f"/my-data/{TOKEN}", "/my-data/[token]"),
        (f"/decline/{TOKEN}", "/decline/[token]"),
        (f"/confirm-address/{TOKEN}", "/confirm-address/[token]"),
        (f"/keep-address/{TOKEN}", "/keep-address/[token]"),
        (f"/unsubscribe/{TOKEN}/preferences-link", "/unsubscribe/[token]/preferences-link"),
        ("/o/abc123.gif", None),
        ("/link", "/link"),
        ("/staff/campaigns/3", "/staff/campaigns/3"),
    ],
)
def test_redact(path, logged):
    assert redact(path) == logged


def test_an_access_line_has_no_token_address_or_query(caplog):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss')
    logger = PrivacyLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/preferences/{TOKEN}",
        "QUERY_STRING": "lang=en",
        "RAW_URI": f"/preferences/{TOKEN}?lang=en",
        "REMOTE_ADDR": "198.51.100.7",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    request = SimpleNamespace(headers=[])
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access_log.propagate = True
        logger.access(response, request, environ, timedelta(milliseconds=5))
    line = " ".join(record.getMessage() for record in caplog.records)
    assert "/preferences/[token]" in line
    assert TOKEN not in line and "198.51.100.7" not in line and "lang=en" not in line


def dev_server_logged(caplog, *request_lines: str) -> str:
    """What ``flask run`` (werkzeug) logs for these request lines."""
    from werkzeug._internal import _log

    line = '127.0.0.1 - - [01/Dec/2026 09:00:00] "%s" %s %s\n'
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for request_line in request_lines:
            _log("info", line, request_line, "200", "-")
    return caplog.text


def test_the_development_server_does_not_log_open_tracking(app, caplog):
    """``flask run`` logs each request; the pixel's are left out."""
    logged = dev_server_logged(
        caplog,
        "GET /o/AAAAAWRhiU_RObu43FM9c240sJeThFBvCvmE_5XE8SE64HQK.gif HTTP/1.1",
        "GET /link HTTP/1.1",
    )
    assert "/link" in logged
    assert "/o/" not in logged


def test_the_development_server_logs_no_link_token(app, caplog):
    """``flask run`` logs the request line: a token there is a working link in a log file."""
    logged = dev_server_logged(
        caplog,
        f"GET /preferences/{TOKEN}?lang=en HTTP/1.1",
        f"POST /unsubscribe/{TOKEN}/preferences-link HTTP/1.1",
        f"GET /confirm-address/{TOKEN} HTTP/1.1",
    )
    assert TOKEN not in logged and "lang=en" not in logged
    assert "GET /preferences/[token] HTTP/1.1" in logged
    assert "POST /unsubscribe/[token]/preferences-link HTTP/1.1" in logged


def test_the_development_server_logs_no_sign_in_code(app, caplog):
    """The identity provider's answer carries a code (and state) that redeems a sign-in."""
    logged = dev_server_logged(
        caplog, "GET /staff/sso/callback?code=SECRETCODE&state=SECRETSTATE&iss=x HTTP/1.1"
    )
    assert "SECRETCODE" not in logged and "SECRETSTATE" not in logged
    assert "GET /staff/sso/callback?[redacted] HTTP/1.1" in logged
