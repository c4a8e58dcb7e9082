"""gunicorn's access log without what would tie a line to a person.

Links in emails carry a signed token in their path: the token is replaced by ``[token]``, in
gunicorn's log and in the development server's (``flask run``); so is the query of the identity
provider's answer to a staff sign-in (its code and state).
Open-tracking requests (``/o/...``) are not logged at all, also not by the development server
(``flask run``). Query strings and client addresses are left out by the format in
``gunicorn.conf.py``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from alumni.people.links import LinkKind

# Every kind of link is served under its own name: /optin/<token>, /keep-address/<token>, ...
_KINDS = "|".join(re.escape(kind.value) for kind in LinkKind)
TOKEN_PATH = re.compile(rf"^/({_KINDS})/[^/]+")
# The same inside a request line ("GET /optin/<token>?lang=en HTTP/1.1"), with its query.
TOKEN_IN_LINE = re.compile(rf"(\s)/({_KINDS})/[^/\s?]+(\S*?)(\?\S*)?(?=\s|$)")
UNLOGGED_PREFIXES = ("/o/",)
# The identity provider's answer to a staff sign-in carries its code and state in the query.
SECRET_QUERY_IN_LINE = re.compile(r"(\s/staff/sso/callback)\?\S*")


def redact(path: str) -> str | None:
    """The path as it may be logged, or None when the request must not be logged."""
    if path.startswith(UNLOGGED_PREFIXES):
        return None
    return TOKEN_PATH.sub(r"/\1/[token]", path)


class PrivacyLogger(Logger):
    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        path = redact(environ.get("PATH_INFO", ""))
        if path is None:
            return
        cleaned = {**environ, "PATH_INFO": path, "QUERY_STRING": "", "RAW_URI": path}
        super().access(resp, req, cleaned, request_time)


class DevServerFilter(logging.Filter):
    """The development server's request log (werkzeug) leaves open-tracking requests out, and
    the tokens of links as gunicorn's log does, and the code of a staff sign-in."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = record.args if isinstance(record.args, tuple) else ()
        if any(
            isinstance(argument, str) and f" {prefix}" in argument
            for argument in arguments
            for prefix in UNLOGGED_PREFIXES
        ):
            return False
        record.args = tuple(
            _without_secrets(argument) if isinstance(argument, str) else argument
            for argument in arguments
        )
        return True


def _without_secrets(request_line: str) -> str:
    request_line = TOKEN_IN_LINE.sub(r"\1/\2/[token]\3", request_line)
    return SECRET_QUERY_IN_LINE.sub(r"\1?[redacted]", request_line)


def quiet_dev_server() -> None:
    """Attach ``DevServerFilter`` to werkzeug's logger, once per process."""
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(known, DevServerFilter) for known in werkzeug_log.filters):
        werkzeug_log.addFilter(DevServerFilter())
