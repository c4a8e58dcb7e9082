"""The OpenAPI 3.1 document of the API, served at ``/api/v1/openapi.json`` without a token.

Written by hand as a dict; enums and limits come from the code, and a test checks that every
route of the blueprint is described here and that nothing else is.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from alumni.models import CampaignKind, CampaignStatus
from alumni.models.purpose import Purpose
from alumni.people.validation import FIRST_GRADUATION_YEAR, MAX_PROGRAMME
from alumni.web.api.inputs import (
    CLOCK_SKEW,
    MAX_BODY,
    MAX_ID,
    MAX_SUBJECT,
    PAGE_SIZE,
    SEND_AT_EXAMPLE,
)

Schema = dict[str, Any]


def document() -> Schema:
    """The document as served now: the last graduation year a request may name is next year."""
    return _with_last_year(_template(), date.today().year + 1)


# Stands for next year in the schemas of what a request may send (see document()).
LAST_YEAR = "<next year>"


def _with_last_year(node: Any, last_year: int) -> Any:
    if node == LAST_YEAR:
        return last_year
    if isinstance(node, dict):
        return {key: _with_last_year(value, last_year) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_last_year(value, last_year) for value in node]
    return node


def _template() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Alumni consent and mailing service",
            "version": "1",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": COMPONENTS,
    }


DESCRIPTION = """\
Campaigns per consent purpose and audience counts, for scripts.

Authenticate with `Authorization: Bearer TOKEN`; a token is made on the staff page
`/staff/tokens` or with `flask --app wsgi staff token EMAIL --name NAME` and carries that staff
member's role. A token has a name and expires (by default after 90 days); an expired token
answers 401 saying so. It stops at once when it is revoked or its account is switched off. The
roles `admin` and `officer` may use every endpoint; `researcher` gets 403.

A request with a body must send it as JSON with `Content-Type: application/json`; any other
content type is answered 415 before the body is read.

Every error answers `{"error": "…"}` with a 4xx status, also an unknown URL (404) or a wrong
method (405). Times are ISO 8601; times sent without an offset are read as Europe/Amsterdam
time, and times are answered in UTC.

`opens` counts the opens of a campaign's emails (`total`, and `unique`: emails opened at least
once), never who opened. It is `null` when the campaign sent fewer than OPENS_MIN_RECIPIENTS
emails (default 10), and when open tracking is off for the campaign (`tracking`) or for the
installation (OPEN_TRACKING). With Redis, counts reach the API within one scheduler tick."""


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Schema]:
    """Every endpoint behind a token answers 401 and 403; each adds its own."""
    return {
        str(code): {"$ref": f"#/components/responses/{ERROR_NAMES[code]}"}
        for code in sorted({401, 403, *codes})
    }


ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "UnprocessableContent",
}

CAMPAIGN_ID = {
    "name": "campaign_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _transition(summary: str, description: str) -> Schema:
    return {
        "summary": summary,
        "description": description,
        "parameters": [CAMPAIGN_ID],
        "responses": {
            "200": _json(_ref("Campaign"), "The campaign in its new state."),
            **_errors(404, 409, 415),
        },
    }


PATHS: Schema = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
    "/campaigns": {
        "get": {
            "summary": "List campaigns, newest first",
            "parameters": [
                {
                    "name": "page",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "default": 1},
                    "description": f"Pages of {PAGE_SIZE} campaigns; one after the last is empty.",
                }
            ],
            "responses": {
                "200": _json(_ref("CampaignPage"), "One page of campaigns."),
                **_errors(422),
            },
        },
        "post": {
            "summary": "Create a campaign",
            "description": "A draft without `send_at`; with it, scheduled at once.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("NewCampaign")}},
            },
            "responses": {
                "201": {
                    **_json(_ref("Campaign"), "The campaign created."),
                    "headers": {
                        "Location": {
                            "description": "The campaign's URL.",
                            "schema": {"type": "string"},
                        }
                    },
                },
                **_errors(400, 415, 422),
            },
        },
    },
    "/campaigns/{campaign_id}": {
        "get": {
            "summary": "One campaign, with what it achieved so far",
            "parameters": [CAMPAIGN_ID],
            "responses": {"200": _json(_ref("Campaign"), "The campaign."), **_errors(404)},
        }
    },
    "/campaigns/{campaign_id}/schedule": {
        "post": {
            **_transition(
                "Schedule a draft",
                "Only a draft can be scheduled (else 409). Without `send_at` it is sent now: "
                "the scheduler starts it within one tick.",
            ),
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _ref("Schedule")}},
            },
            "responses": {
                "200": _json(_ref("Campaign"), "The campaign, now scheduled."),
                **_errors(400, 404, 409, 415, 422),
            },
        }
    },
    "/campaigns/{campaign_id}/pause": {
        "post": _transition(
            "Pause a scheduled or sending campaign",
            "Workers stop before their next recipient; nobody is skipped because of it.",
        )
    },
    "/campaigns/{campaign_id}/resume": {
        "post": _transition(
            "Resume a paused campaign",
            "A campaign that had not started is scheduled again at its `send_at`; "
            "one that had started goes on sending.",
        )
    },
    "/campaigns/{campaign_id}/cancel": {
        "post": _transition(
            "Cancel a campaign",
            "Any campaign that is not sent or cancelled yet; nothing more is sent.",
        )
    },
    "/audience": {
        "get": {
            "summary": "How many alumni a campaign with these filters would reach now",
            "description": (
                "Alumni who responded and consent to the purpose now, within the filters. "
                "`programme` and `graduation_years` may be repeated or comma-separated "
                "(so a programme whose name holds a comma cannot be filtered on)."
            ),
            "parameters": [
                {"name": "purpose", "in": "query", "required": True, "schema": _ref("Purpose")},
                {
                    "name": "programme",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                },
                {
                    "name": "graduation_years",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "array",
                        "items": {
                            "type": "integer",
                            "minimum": FIRST_GRADUATION_YEAR,
                            "maximum": LAST_YEAR,
                        },
                    },
                    "style": "form",
                    "explode": True,
                },
            ],
            "responses": {
                "200": _json(_ref("AudienceCount"), "The number of alumni."),
                **_errors(422),
            },
        }
    },
}

_TIME = {"type": "string", "format": "date-time"}
_OPTIONAL_TIME = {"type": ["string", "null"], "format": "date-time"}
_PROGRAMMES = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": MAX_PROGRAMME},
    "description": "Only alumni of these programmes; empty means every programme.",
}
_YEARS = {
    "type": "array",
    "items": {"type": "integer", "minimum": FIRST_GRADUATION_YEAR},
    "description": "Only alumni who graduated in these years (up to next year); empty means all.",
}
_ASKED_YEARS = {
    **_YEARS,
    "items": {"type": "integer", "minimum": FIRST_GRADUATION_YEAR, "maximum": LAST_YEAR},
}

SCHEMAS: Schema = {
    "Purpose": {"type": "string", "enum": [purpose.value for purpose in Purpose]},
    "CampaignStatus": {"type": "string", "enum": [status.value for status in CampaignStatus]},
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "NewCampaign": {
        "type": "object",
        "required": ["purpose", "subject", "body"],
        "additionalProperties": False,
        "properties": {
            "purpose": _ref("Purpose"),
            "subject": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_SUBJECT,
                "description": "One line: no line breaks or control characters.",
            },
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_BODY,
                "description": "Markdown.",
            },
            "programme": _PROGRAMMES,
            "graduation_years": _ASKED_YEARS,
            "send_at": {
                **_OPTIONAL_TIME,
                "description": (
                    "When to send; absent or null makes a draft. Without an offset it is "
                    "Europe/Amsterdam time. Not in the past (422)."
                ),
                "examples": [SEND_AT_EXAMPLE],
            },
            "tracking": {
                "type": "boolean",
                "default": True,
                "description": (
                    "Count opens with a pixel that is never stored against its recipient."
                ),
            },
        },
    },
    "Schedule": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "send_at": {
                **_OPTIONAL_TIME,
                "description": (
                    "When to send; absent or null means now. Without an offset it is "
                    "Europe/Amsterdam time. A time more than "
                    f"{int(CLOCK_SKEW.total_seconds())} seconds in the past is a 422."
                ),
                "examples": [SEND_AT_EXAMPLE],
            },
        },
    },
    "Counts": {
        "type": "object",
        "required": ["sent", "failed", "skipped"],
        "additionalProperties": False,
        "properties": {
            "sent": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
            "skipped": {
                "type": "object",
                "description": "Recipients skipped at send time, by reason (e.g. no-consent).",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
    },
    "Opens": {
        "type": "object",
        "required": ["total", "unique"],
        "additionalProperties": False,
        "properties": {
            "total": {"type": "integer", "minimum": 0, "description": "Every open."},
            "unique": {
                "type": "integer",
                "minimum": 0,
                "description": "Emails opened at least once.",
            },
        },
    },
    "Campaign": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "purpose",
            "subject",
            "body",
            "status",
            "programme",
            "graduation_years",
            "tracking",
            "send_at",
            "created_at",
            "started_at",
            "finished_at",
            "counts",
            "opens",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "kind": {
                "type": "string",
                "enum": [kind.value for kind in CampaignKind],
                "description": (
                    "purpose: an email for one purpose; renewal: the product asks everyone whose "
                    "consent is due for renewal to keep or change their choices."
                ),
            },
            "purpose": {
                "oneOf": [_ref("Purpose"), {"type": "null"}],
                "description": "null for a renewal: it is about every purpose.",
            },
            "subject": {"type": "string"},
            "body": {"type": "string", "description": "Markdown."},
            "status": _ref("CampaignStatus"),
            "programme": _PROGRAMMES,
            "graduation_years": _YEARS,
            "tracking": {"type": "boolean"},
            "send_at": {**_OPTIONAL_TIME, "description": "UTC; null for a draft."},
            "created_at": _TIME,
            "started_at": _OPTIONAL_TIME,
            "finished_at": _OPTIONAL_TIME,
            "counts": _ref("Counts"),
            "opens": {
                "oneOf": [_ref("Opens"), {"type": "null"}],
                "description": (
                    "Open counts; null below OPENS_MIN_RECIPIENTS emails sent, or with "
                    "tracking off."
                ),
            },
        },
    },
    "CampaignPage": {
        "type": "object",
        "required": ["campaigns", "page", "per_page", "pages", "total"],
        "additionalProperties": False,
        "properties": {
            "campaigns": {"type": "array", "items": _ref("Campaign")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 0},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "AudienceCount": {
        "type": "object",
        "required": ["count"],
        "additionalProperties": False,
        "properties": {"count": {"type": "integer", "minimum": 0}},
    },
}


def _error_response(description: str, **headers: Schema) -> Schema:
    response = _json(_ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


RESPONSES: Schema = {
    "BadRequest": _error_response("The body is not a JSON object."),
    "Unauthorized": _error_response(
        "No token, or one that is unknown, revoked or expired, or whose account is inactive.",
        **{"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer."}},
    ),
    "Forbidden": _error_response("The token's role may not use this endpoint (researcher)."),
    "NotFound": _error_response("There is no such campaign."),
    "UnsupportedMediaType": _error_response(
        "The request has a body whose Content-Type is not application/json."
    ),
    "Conflict": _error_response("The campaign's state does not allow this (e.g. pausing a draft)."),
    "UnprocessableContent": _error_response(
        "A field is missing, of the wrong type or out of range; an unknown purpose or field; "
        "a send_at that cannot be read or lies in the past. The message names the field."
    ),
}

COMPONENTS: Schema = {
    "securitySchemes": {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A token made on `/staff/tokens` or with `flask --app wsgi staff token EMAIL`."
            ),
        }
    },
    "schemas": SCHEMAS,
    "responses": RESPONSES,
}
