"""Staff sessions (Flask-Login) and the role check of every staff page.

The session id is ``ID:SESSION_TOKEN``: a new ``session_token`` ends every session of the
account, also copied cookies. Who may do what is decided in ``alumni.accounts.access``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user

from alumni.accounts.access import may
from alumni.extensions import db, login_manager
from alumni.models import Role, StaffUser

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


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    # The message is a lazy string: make it a plain one before it goes into the session.
    login_manager.localize_callback = str
    login_manager.user_loader(load_session_user)
