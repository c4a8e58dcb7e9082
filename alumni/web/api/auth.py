"""Who calls: the staff member of a bearer token, and whether their role may use the endpoint.

Every view declares the roles it admits (``@allow``), that it needs no token (``@public``), or
that a mail provider calls it and the view checks the provider's own signature or credentials
(``@provider_webhook``); a view that declares none of these admits nobody, so a forgotten
decorator fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request

from alumni.accounts.api_tokens import TokenCheck, TokenRefusal, check_token
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


def provider_webhook(view: View) -> View:
    """A mail provider calls the view, with no staff token: the view refuses (401) whatever
    its provider's signature or credentials do not vouch for (alumni/web/api/bounces.py)."""
    view.api_provider_webhook = True  # type: ignore[attr-defined]
    return view


def allow(*roles: Role) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        view.api_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return decorator


@bp.before_request
def authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_public", False) or getattr(view, "api_provider_webhook", False):
        return
    raw = bearer_token(request.headers.get("Authorization"))
    if raw is None:
        g.api_refusal = TokenRefusal.MISSING
        raise ApiError(
            401,
            "an API token is required: Authorization: Bearer TOKEN",
            {"WWW-Authenticate": CHALLENGE},
        )
    check = check_token(raw)
    staff = check.staff
    if staff is None:
        g.api_refusal = check.refusal
        raise ApiError(
            401,
            refusal_message(check),
            {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    g.api_staff = staff  # known from here on: a refusal below is audit-logged with its actor
    if staff.role not in getattr(view, "api_roles", frozenset()):
        raise ApiError(403, f"the role {staff.role} may not use this endpoint")
    db.session.commit()  # the token's last use, apart from whatever the view does


def refusal_message(check: TokenCheck) -> str:
    """An expired token says so (its holder makes a new one); every other refusal is one
    message, so that a guesser learns nothing about tokens that exist."""
    if check.refusal is TokenRefusal.EXPIRED and check.token is not None:
        expired = check.token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"the API token expired at {expired}: make a new one"
    return "the API token is unknown or revoked, or its account is inactive"


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
