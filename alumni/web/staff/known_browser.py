"""Known browsers: a signed cookie that a browser gets when it logs in to an account with the
right password, so that the ceiling on failed logins per account does not lock it out.

A stranger guessing from many addresses reaches the ceiling and is refused; the real user's
browser, which logged in before, is held only to the limits per address. The cookie names the
account by a keyed hash, never by its address, and opens nothing by itself (an idea from
OWASP's "device cookies").
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from alumni.accounts import staff as accounts

SALT = "staff-known-browser"


def cookie_name() -> str:
    # __Host-: only ever set by this host over https, for the whole site.
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    return "__Host-alumni-known" if secure else "alumni-known"


def max_age() -> timedelta:
    return timedelta(days=current_app.config["STAFF_KNOWN_BROWSER_DAYS"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def remember(response: Response, email: str) -> None:
    """This browser knows the password of the account with this address."""
    response.set_cookie(
        cookie_name(),
        _serializer().dumps(accounts.typed_email_key(email)),
        max_age=max_age(),
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )


def knows_typed_account() -> bool:
    """Whether this browser logged in before to the account whose address is typed."""
    value = request.cookies.get(cookie_name())
    if not value:
        return False
    try:
        account = _serializer().loads(value, max_age=max_age().total_seconds())
    except BadSignature:  # also an expired one
        return False
    return account == accounts.typed_email_key(request.form.get("email", ""))
