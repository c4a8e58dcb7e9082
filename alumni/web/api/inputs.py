"""What scripts send, checked field by field before anything is stored.

A body that is not a JSON object is a 400; a field that is missing, of the wrong type or out
of range is a 422 whose message names the field, so that a script's author knows what to fix.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.datastructures import MultiDict

from alumni.models import LOCAL_TIME, utcnow
from alumni.models.purpose import Purpose
from alumni.people.validation import FIRST_GRADUATION_YEAR, InvalidValue, parse_programme
from alumni.web.api.errors import ApiError

View = TypeVar("View", bound=Callable[..., object])

MAX_SUBJECT = 200  # the length of Campaign.subject
MAX_BODY = 100_000
# A send_at this little in the past means "now": the caller's clock may run a little behind.
CLOCK_SKEW = timedelta(minutes=1)
SEND_AT_EXAMPLE = "2027-03-12T09:00:00+01:00"
PAGE_SIZE = 20  # campaigns per page of the list
JSON = "application/json"
# Ids are 32-bit integers in the database: a larger one names nothing (and would overflow).
MAX_ID = 2**31 - 1

CAMPAIGN_FIELDS = frozenset(
    {"purpose", "subject", "body", "programme", "graduation_years", "send_at", "tracking"}
)
SCHEDULE_FIELDS = frozenset({"send_at"})
AUDIENCE_PARAMETERS = frozenset({"purpose", "programme", "graduation_years"})
LIST_PARAMETERS = frozenset({"page"})


@dataclass(frozen=True)
class NewCampaign:
    purpose: Purpose
    subject: str
    body: str
    programmes: list[str]
    graduation_years: list[int]
    tracking: bool
    send_at: datetime | None


@dataclass(frozen=True)
class AudienceFilter:
    purpose: Purpose
    programmes: list[str]
    graduation_years: list[int]


def body_types(*mimetypes: str) -> Callable[[View], View]:
    """The view takes a JSON body declared as one of ``mimetypes`` rather than only
    application/json (SNS posts its JSON as text/plain)."""

    def decorator(view: View) -> View:
        view.api_body_types = mimetypes  # type: ignore[attr-defined]
        return view

    return decorator


def require_json_body() -> None:
    """A request that carries a body must say it is JSON (``Content-Type: application/json``):
    415 otherwise, before anything reads it. A browser's cross-site form can send only form
    encodings and text/plain, so this also keeps the API out of reach of such forms; a view
    that takes text/plain (``body_types``) authenticates by the body's signature, which no
    such form can make."""
    has_body = (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )
    view = current_app.view_functions.get(request.endpoint or "")
    accepted = getattr(view, "api_body_types", (JSON,))
    if has_body and request.mimetype not in accepted:
        raise ApiError(415, f"a request body must be JSON: Content-Type: {' or '.join(accepted)}")


def json_object(*, empty_allowed: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (its Content-Type was checked: require_json_body)."""
    if empty_allowed and not request.get_data():
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def new_campaign(data: Mapping[str, Any]) -> NewCampaign:
    _only(data, CAMPAIGN_FIELDS, "field")
    send_at = data.get("send_at")
    return NewCampaign(
        purpose=purpose(_required(data, "purpose")),
        subject=subject(_required(data, "subject")),
        body=body(_required(data, "body")),
        programmes=programmes(_list(data, "programme")),
        graduation_years=[graduation_year(year) for year in _list(data, "graduation_years")],
        tracking=_boolean(data, "tracking", default=True),
        send_at=None if send_at is None else future_time(send_at),
    )


def schedule_time(data: Mapping[str, Any]) -> datetime | None:
    """The ``send_at`` of a schedule request; None means now."""
    _only(data, SCHEDULE_FIELDS, "field")
    send_at = data.get("send_at")
    return None if send_at is None else future_time(send_at)


def audience_filter(args: MultiDict[str, str]) -> AudienceFilter:
    """``programme`` and ``graduation_years`` may repeat, or hold comma-separated values."""
    _only(args, AUDIENCE_PARAMETERS, "query parameter")
    purposes = args.getlist("purpose")
    if len(purposes) != 1:
        raise ApiError(422, "give exactly one purpose")
    years = []
    for value in _comma_separated(args.getlist("graduation_years")):
        if not value.isascii() or not value.isdigit():
            raise ApiError(422, f"graduation_years must be whole years, not {value[:20]!r}")
        years.append(graduation_year(int(value)))
    return AudienceFilter(
        purpose=purpose(purposes[0]),
        programmes=programmes(_comma_separated(args.getlist("programme"))),
        graduation_years=years,
    )


def page_number(args: MultiDict[str, str]) -> int:
    _only(args, LIST_PARAMETERS, "query parameter")
    raw = args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ApiError(422, "page must be a whole number from 1")
    return int(raw)


# -- one value each ------------------------------------------------------------------------------


def purpose(value: object) -> Purpose:
    try:
        return Purpose(value)
    except ValueError:
        known = ", ".join(Purpose)
        raise ApiError(422, f"purpose must be one of: {known}") from None


def subject(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(422, "subject must be a string")
    # Line breaks in a mail header would end the header or start another one.
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ApiError(422, "subject must be one line, without line breaks or control characters")
    value = value.strip()
    if not value:
        raise ApiError(422, "subject must not be empty")
    if len(value) > MAX_SUBJECT:
        raise ApiError(422, f"subject must be at most {MAX_SUBJECT} characters")
    return value


def body(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(422, "body must be a string (Markdown)")
    if not value.strip():
        raise ApiError(422, "body must not be empty")
    if len(value) > MAX_BODY:
        raise ApiError(422, f"body must be at most {MAX_BODY} characters")
    return value


def programmes(values: list[Any]) -> list[str]:
    """Normalised as the importer stores them, so that the filter matches."""
    result = []
    for value in values:
        if not isinstance(value, str):
            raise ApiError(422, "programme must be a list of strings")
        try:
            result.append(parse_programme(value))
        except InvalidValue as error:
            raise ApiError(422, f"programme {value[:40]!r} is not valid ({error.code})") from None
    return result


def graduation_year(value: object) -> int:
    """Years the importer accepts; any other year can never match anyone."""
    last = date.today().year + 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(422, "graduation_years must be a list of whole years")
    if not FIRST_GRADUATION_YEAR <= value <= last:
        raise ApiError(422, f"graduation_years must lie between {FIRST_GRADUATION_YEAR} and {last}")
    return value


def future_time(value: object) -> datetime:
    """An ISO 8601 date and time, now or later, in UTC; without an offset it is local time."""
    unreadable = ApiError(422, f"send_at must be an ISO 8601 date and time, e.g. {SEND_AT_EXAMPLE}")
    if not isinstance(value, str):
        raise unreadable
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=LOCAL_TIME)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise unreadable from None
    if moment < utcnow() - CLOCK_SKEW:
        raise ApiError(422, "send_at lies in the past; leave it out to send now")
    return moment


# -- helpers ---------------------------------------------------------------------------------


def _only(data: Mapping[str, Any], known: frozenset[str], kind: str) -> None:
    """A misspelt name ("programmes") must not silently widen the audience."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise ApiError(422, f"unknown {kind} {unknown[0]!r}; known are: {', '.join(sorted(known))}")


def _required(data: Mapping[str, Any], name: str) -> object:
    if data.get(name) is None:
        raise ApiError(422, f"{name} is required")
    return data[name]


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    """Absent: empty. Present, it must be a list (null is not one)."""
    if name not in data:
        return []
    value = data[name]
    if not isinstance(value, list):
        raise ApiError(422, f"{name} must be a list")
    return value


def _boolean(data: Mapping[str, Any], name: str, *, default: bool) -> bool:
    """Absent: the default. Present, it must be true or false (null is not: the document says
    boolean, and a script that sends null has a bug worth hearing about)."""
    if name not in data:
        return default
    value = data[name]
    if not isinstance(value, bool):
        raise ApiError(422, f"{name} must be true or false")
    return value


def _comma_separated(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
