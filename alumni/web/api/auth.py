"""Who calls: the staff member of a bearer token, and whether their role may use the endpoint.

Every view declares the roles it admits (``@allow``) or that it needs no token (``@public``);
a view that declares neither admits nobody, so a forgotten decorator fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from alumni.accounts.api_tokens import authenticate_token
from alumni.extensions import db
from alumni.models import Role, StaffUser
from alumni.web.api import bp
from alumni.web.api.errors import ApiError

View = TypeVar("View", bound=Callable[..., object])

# docs/product.md: officers work with campaigns, admins may do everything, researchers only export.
CAMPAIGN_ROLES = (Role.ADMIN, Role.OFFICER)
CHALLENGE = 'Bearer realm="alumni-api"'


def public(view: View) -> View:
    """The view answers without a token (the OpenAPI document)."""
    view.api_public = True  # type: ignore[attr-defined]
    return view


def allow(*roles: Role) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        view.api_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return decorator


@bp.before_request
def authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_public", False):
        return
    raw = bearer_token(request.headers.get("Authorization"))
    if raw is None:
        raise ApiError(
            401,
            "an API token is required: Authorization: Bearer TOKEN",
            {"WWW-Authenticate": CHALLENGE},
        )
    staff = authenticate_token(raw)
    if staff is None:
        raise ApiError(
            401,
            "the API token is unknown or revoked, or its account is inactive",
            {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    if staff.role not in getattr(view, "api_roles", frozenset()):
        raise ApiError(403, f"the role {staff.role} may not use this endpoint")
    db.session.commit()  # the token's last use, apart from whatever the view does
    g.api_staff = staff


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, raw = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return raw.strip()


def current_staff() -> StaffUser:
    staff: StaffUser = g.api_staff
    return staff


def actor() -> str:
    """How the audit log names the caller."""
    return f"staff:{current_staff().id}"
