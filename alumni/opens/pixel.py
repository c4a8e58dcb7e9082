"""The open-tracking pixel ``GET /o/<token>.gif``, answered before Flask handles the request.

A WSGI middleware rather than a route, on purpose: the request never reaches the machinery
that reads cookies (the session, Flask-Login), client addresses (the rate limiter) or anything
else about the visitor, and no cookie can be set on the answer. It reads the path only, counts
a genuine token (``alumni.opens.record_open``) and always answers the same 1x1 GIF with
``Cache-Control: no-store``: also for a forged or malformed token, which is not counted, so the
answer tells nobody whether a token is genuine. It is also about twice as fast as a route.
gunicorn's access log and the development server's log leave these requests out
(``alumni.web.access_log``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from flask import Flask

PREFIX = "/o/"
SUFFIX = ".gif"
# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(PIXEL))),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]


class PixelMiddleware:
    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not path.startswith(PREFIX) or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        if method == "GET" and path.endswith(SUFFIX):
            from alumni.opens import record_open

            with self.app.app_context():
                record_open(path[len(PREFIX) : -len(SUFFIX)])
        start_response("200 OK", list(HEADERS))
        return [PIXEL] if method == "GET" else []


def init_app(app: Flask) -> None:
    app.wsgi_app = PixelMiddleware(app, app.wsgi_app)  # type: ignore[method-assign]
