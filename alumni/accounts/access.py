"""Who may do what: the roles, and the staff member behind an API bearer token.

Roles (``docs/product.md``): ``admin`` may do everything; ``officer`` works with alumni and
campaigns; ``researcher`` gets only the export of alumni who consent to research. The staff
pages' sessions and their role check are in ``alumni.web.staff.session``.
"""

from __future__ import annotations

from alumni.accounts.api_tokens import authenticate_token
from alumni.models import Role, StaffUser

__all__ = ["authenticate_bearer", "authenticate_token", "may"]


def may(staff: StaffUser, *roles: Role) -> bool:
    """Whether ``staff`` has one of ``roles`` (no roles: any staff member); admin may all."""
    return not roles or staff.role is Role.ADMIN or staff.role in roles


def authenticate_bearer(authorization: str | None) -> StaffUser | None:
    """The staff member of an ``Authorization: Bearer TOKEN`` header, or None.

    For the JSON API; check the role with ``may(staff, Role.OFFICER)``.
    """
    scheme, _, raw = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return authenticate_token(raw.strip())
