"""The dev outbox: every mail of the embedded setup, readable in the browser.

Only with the outbox backend on SQLite (``DEV_OUTBOX``), and only to a browser on the same
machine (a loopback address); everywhere else, and to everyone else, these URLs are 404.
"""

from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")

from alumni.web.dev import routes  # noqa: E402, F401
