"""Staff sessions (Flask-Login), their time limits, and the checks in front of staff pages.

The session id is ``ID:SESSION_TOKEN``: a new ``session_token`` ends every session of the
account, also copied cookies. Who may do what is decided in ``alumni.accounts.access``.

Time limits are kept in the signed session and checked on the server at every request: when
the session started, when it was last used, and when its owner last proved who they are (a
password typed, or a sign-in at the school's provider). A session unused for
``STAFF_SESSION_IDLE_MINUTES`` or older than ``STAFF_SESSION_MAX_HOURS`` ends; sensitive pages
(``reauthentication_required``) ask for the password again after ``STAFF_REAUTH_MINUTES``.
The cookie is called ``__Host-session`` when it is Secure: no subdomain can set or read it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, logout_user

from alumni import audit
from alumni.accounts.access import may
from alumni.extensions import db, login_manager
from alumni.models import Role, StaffUser, utcnow

View = TypeVar("View", bound=Callable[..., Any])


class SignedInStaff(UserMixin):
    """The logged-in staff member as Flask-Login sees them; reads pass through to the account.

    The session id is ``ID:SESSION_TOKEN``, so a new ``session_token`` ends every session.
    """

    def __init__(self, staff: StaffUser) -> None:
        self.staff = staff

    def get_id(self) -> str:
        return f"{self.staff.id}:{self.staff.session_token}"

    @property
    def is_active(self) -> bool:
        return self.staff.active

    def __getattr__(self, name: str) -> Any:
        if name == "staff":  # not set yet (copy, unpickling): no endless recursion
            raise AttributeError(name)
        return getattr(self.staff, name)


def load_session_user(session_id: str) -> SignedInStaff | None:
    """Flask-Login's user loader: a stale session token or an inactive account is refused."""
    staff_id, _, token = session_id.partition(":")
    if not staff_id.isdigit() or not token:
        return None
    staff = db.session.get(StaffUser, int(staff_id))
    if staff is None or not staff.active:
        return None
    if not hmac.compare_digest(staff.session_token.encode(), token.encode()):
        return None
    return SignedInStaff(staff)


def role_required(*roles: Role) -> Callable[[View], View]:
    """Pages: anonymous visitors go to the login page, a staff member without the role gets 403.

    ``role_required()`` lets in every logged-in staff member.
    """
    allowed = tuple(Role(role) for role in roles)

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user.staff, *allowed):
                abort(403)
            return view(*args, **kwargs)

        guarded.allowed_roles = allowed  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


# -- time limits --------------------------------------------------------------------------------

STARTED = "staff_started"  # epoch seconds: the login
LAST_SEEN = "staff_seen"  # epoch seconds: the last request
CONFIRMED = "staff_confirmed"  # epoch seconds: the password (or the provider) last proved
METHOD = "staff_method"  # "password" or "sso": how the owner proves who they are again
HOST_COOKIE = "__Host-session"


class SessionEnd(StrEnum):
    """Why the server ended a session, as the audit log says it."""

    IDLE = "idle"
    ABSOLUTE = "absolute"


SESSION_END_MESSAGES = {
    SessionEnd.IDLE: _l("You were logged out after %(minutes)d minutes without activity."),
    SessionEnd.ABSOLUTE: _l("You were logged out: a session lasts at most %(hours)d hours."),
}


def now_seconds() -> int:
    """The clock of every limit here: the product's ``utcnow`` (tests move it)."""
    return int(utcnow().timestamp())


def begin_session(method: str) -> None:
    """The times of a session that starts now; the caller has just logged the person in."""
    now = now_seconds()
    session[STARTED] = session[LAST_SEEN] = session[CONFIRMED] = now
    session[METHOD] = method


def identity_confirmed() -> None:
    """The owner has just typed their password again."""
    session[CONFIRMED] = now_seconds()


def session_end(now: int) -> SessionEnd | None:
    """Whether this session is over; one without its times (older than them) is over too."""
    config = current_app.config
    started, seen = session.get(STARTED), session.get(LAST_SEEN)
    if not isinstance(started, int) or not isinstance(seen, int):
        return SessionEnd.ABSOLUTE
    if now - started >= config["STAFF_SESSION_MAX_HOURS"] * 3600:
        return SessionEnd.ABSOLUTE
    if now - seen >= config["STAFF_SESSION_IDLE_MINUTES"] * 60:
        return SessionEnd.IDLE
    return None


def enforce_time_limits() -> Response | None:
    """Before every request with a logged-in session: end it when over, else note its use."""
    if "_user_id" not in session or request.endpoint == "static":
        return None
    now = now_seconds()
    ended = session_end(now)
    if ended is None:
        session[LAST_SEEN] = now
        return None
    staff_id = str(session.get("_user_id", "")).partition(":")[0]
    audit.record("staff.session_ended", actor=f"staff:{staff_id}", reason=str(ended))
    db.session.commit()
    logout_user()
    session.clear()
    if request.blueprint != "staff" or request.endpoint == "staff.login":
        return None
    config = current_app.config
    flash(
        str(
            SESSION_END_MESSAGES[ended]
            % {
                "minutes": config["STAFF_SESSION_IDLE_MINUTES"],
                "hours": config["STAFF_SESSION_MAX_HOURS"],
            }
        ),
        "info",
    )
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("staff.login", next=target), code=303)


def recently_confirmed() -> bool:
    confirmed = session.get(CONFIRMED)
    limit = current_app.config["STAFF_REAUTH_MINUTES"] * 60
    return isinstance(confirmed, int) and now_seconds() - confirmed < limit


def signed_in_with_sso() -> bool:
    return session.get(METHOD) == "sso"


def reauthentication_required(view: View | None = None, *, back_to: str | None = None) -> Any:
    """Sensitive pages: the password (or the school's provider) again when it was last proved
    longer than ``STAFF_REAUTH_MINUTES`` ago; then back to the page.

    Put it below ``role_required``. A GET comes back to itself; a POST to its form: the page
    at the same address, or the endpoint ``back_to`` (with the same URL arguments) for a
    POST-only address. What was posted is not kept: the form is filled in again.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if current_user.is_authenticated and not recently_confirmed():
                flash(str(_l("Please confirm it is you before you go on.")), "info")
                return redirect(url_for("staff.reauthenticate", next=return_target(back_to)))
            return view(*args, **kwargs)

        guarded.reauthentication = True  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator if view is None else decorator(view)


def return_target(back_to: str | None) -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    if back_to:
        # The URL arguments the form's page takes too (no leftovers as a query string).
        [page] = current_app.url_map.iter_rules(back_to)
        values = request.view_args or {}
        return url_for(back_to, **{name: values[name] for name in page.arguments & values.keys()})
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.path
    return url_for("staff.dashboard")


def init_app(app: Flask) -> None:
    if app.config.get("SESSION_COOKIE_SECURE"):
        # A __Host- cookie is Secure, has Path=/ and no Domain, or browsers drop it.
        app.config.update(
            SESSION_COOKIE_NAME=HOST_COOKIE, SESSION_COOKIE_PATH="/", SESSION_COOKIE_DOMAIN=None
        )
    app.before_request(enforce_time_limits)
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # The message is a lazy string: make it a plain one before it goes into the session.
    login_manager.localize_callback = str
    login_manager.user_loader(load_session_user)
