"""Friendly error pages in the visitor's language; never a stack trace."""

from __future__ import annotations

import logging
import traceback

from flask import Response, g, render_template, request
from flask_babel import refresh
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from alumni.core.metrics import count
from alumni.extensions import db
from alumni.people.links import BadLink
from alumni.web.api.errors import error_response, http_error_response
from alumni.web.errors import bp

log = logging.getLogger(__name__)


@bp.app_errorhandler(BadLink)
def bad_link(error: BadLink) -> tuple[str, int]:
    db.session.rollback()
    # A refusal is logged: which page and why, never the token or whose it was.
    page = (request.endpoint or "").removeprefix("alumni.")
    log.info("link refused on %s: %s", page, error.reason)
    count("alumni_links_refused", page, error.reason)
    g.alumnus = error.alumnus  # answer in their language when the link tells who they are
    refresh()
    return render_template("errors/bad_link.html", reason=error.reason), error.status_code


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_template("errors/error.html", code=400, kind="csrf"), 400


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int] | Response:
    if _for_api():
        return http_error_response(error)
    code = error.code or 500
    return render_template("errors/error.html", code=code, kind=str(code)), code


@bp.app_errorhandler(Exception)
def unexpected_error(error: Exception) -> tuple[str, int] | Response:
    db.session.rollback()
    # Type and frames only: the message may quote personal data (SQL parameters, addresses).
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("unhandled %s\n%s", type(error).__name__, frames)
    if _for_api():
        return error_response(500, "internal error")
    return render_template("errors/error.html", code=500, kind="500"), 500


def _for_api() -> bool:
    """The JSON API answers in JSON, also for URLs under it that match no route (404, 405)."""
    return request.path.startswith("/api/")
