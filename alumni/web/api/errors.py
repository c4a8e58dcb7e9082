"""Every error of the API is JSON ``{"error": "…"}`` with a 4xx status, never an HTML page."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from alumni.campaigns.service import CampaignError, InvalidCampaign
from alumni.extensions import db
from alumni.models import InvalidTransition
from alumni.web.api import bp


class ApiError(Exception):
    """A request the API refuses: the status, and a message for the script's author."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def http_error_response(error: HTTPException) -> Response:
    """Werkzeug's errors (404, 405, 413, 429 …) in the API's shape, keeping headers like Allow."""
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return error_response(error.code or 500, (error.name or "error").lower(), headers)


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    db.session.rollback()
    return error_response(error.status, error.message, error.headers)


@bp.errorhandler(CampaignError)
@bp.errorhandler(InvalidTransition)
def conflict(error: Exception) -> Response:
    """The campaign's state does not allow the request (pause a draft, schedule twice)."""
    db.session.rollback()
    return error_response(409, str(error))


@bp.errorhandler(InvalidCampaign)
def invalid(error: InvalidCampaign) -> Response:
    """Content or timing the service refuses (it checks what every adapter would)."""
    db.session.rollback()
    return error_response(422, str(error))


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    db.session.rollback()
    return http_error_response(error)
