from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from flask import abort, current_app, render_template, request
from markupsafe import Markup, escape

from alumni.web.clients import is_loopback
from alumni.web.dev import bp

NAME = re.compile(r"^[0-9a-f]{32}\.eml$")
URL = re.compile(r"https?://[^\s<>\"]+")


@bp.before_request
def only_in_embedded_mode_and_from_this_machine() -> None:
    # The outbox shows every mail with its links: whoever reads it can act as any alumnus.
    if not current_app.config["DEV_OUTBOX"] or not is_loopback(request.remote_addr):
        abort(404)


def _outbox() -> Path:
    return Path(current_app.config["OUTBOX_PATH"])


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)  # type: ignore[return-value]


@bp.get("/outbox")
def outbox() -> str:
    files = sorted(_outbox().glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    messages = []
    for path in files[:200]:
        message = _read(path)
        messages.append(
            {
                "name": path.name,
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
            }
        )
    return render_template("dev/outbox.html", messages=messages, total=len(files))


@bp.get("/outbox/<name>")
def message(name: str) -> Any:
    path = _outbox() / name
    if not NAME.match(name) or not path.is_file():
        abort(404)
    message = _read(path)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part else ""
    html = html_part.get_content() if html_part else ""
    # Links in the HTML part open in the page, not inside the frame.
    html = html.replace("<head>", '<head><base target="_top">', 1)
    response = current_app.make_response(
        render_template("dev/message.html", message=message, text=linkify(text), html=html)
    )
    # The mail's HTML carries inline styles (css-inline): allow them in this dev page only.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'"
    )
    return response


def linkify(text: str) -> Markup:
    parts = []
    last = 0
    for match in URL.finditer(text):
        parts.append(escape(text[last : match.start()]))
        url = escape(match.group(0))
        parts.append(Markup(f'<a href="{url}">{url}</a>'))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
