"""Single sign-on: what the school's identity provider vouches for, as a staff account here.

The provider's answer (state, PKCE, the ID token's signature, issuer, audience and nonce) is
checked by the web adapter with Authlib before anything here runs; this module decides who that
person is here and with which role:

- an account is matched by its email address, and only when the provider says the address is
  verified (``email_verified`` true);
- the role comes from one claim (``OIDC_ROLE_CLAIM``) through ``OIDC_ROLE_MAP`` at every login,
  so a role changed at the provider applies at the next login here; a person the provider no
  longer gives a mapped role gets no session, and the sessions their account still has end;
- accounts are not made here unless ``OIDC_CREATE_ACCOUNTS`` is on: an alumni office lets in
  the colleagues an administrator made or invited, not everyone the school's provider knows.

Every login and every refusal is in the audit log, with the staff id at most: never an email
address, a subject id or a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from alumni import audit
from alumni.accounts.staff import actor_of, find_staff, hash_password, rotate_session
from alumni.extensions import db
from alumni.models import Role, StaffUser, utcnow
from alumni.people.validation import InvalidValue, parse_email

# When several values of the claim map to roles, the one that may do most counts.
ROLE_ORDER = (Role.ADMIN, Role.OFFICER, Role.RESEARCHER)


class SsoRefusal(StrEnum):
    """Why a single sign-on gave no session, as the audit log and the login page say it."""

    PROVIDER_ERROR = "provider-error"  # the provider answered with an error (e.g. cancelled)
    PROVIDER_UNREACHABLE = "provider-unreachable"
    BAD_STATE = "bad-state"  # not the answer to a sign-in this browser started
    TOKEN_REFUSED = "token-refused"  # the code was not redeemed (e.g. no PKCE verifier)
    BAD_ID_TOKEN = "bad-id-token"  # signature, issuer, audience, expiry or nonce wrong
    NO_EMAIL = "no-email"
    EMAIL_UNVERIFIED = "email-unverified"
    NO_ROLE = "no-role"
    UNKNOWN_ACCOUNT = "unknown-account"
    INACTIVE = "inactive"
    PASSWORD_LOGIN_OFF = "password-login-off"  # a password posted while only SSO is allowed

    @property
    def label(self) -> str:
        return str(SSO_REFUSAL_LABELS[self])


_TRY_AGAIN = _l("Signing in with your school account did not work. Please try again.")
SSO_REFUSAL_LABELS = {
    SsoRefusal.PROVIDER_ERROR: _l("Signing in with your school account was cancelled or refused."),
    SsoRefusal.PROVIDER_UNREACHABLE: _l(
        "The school's sign-in service cannot be reached right now. Please try again later."
    ),
    SsoRefusal.BAD_STATE: _TRY_AGAIN,
    SsoRefusal.TOKEN_REFUSED: _TRY_AGAIN,
    SsoRefusal.BAD_ID_TOKEN: _TRY_AGAIN,
    SsoRefusal.NO_EMAIL: _l(
        "Your school account gives no email address. Ask an administrator for access."
    ),
    SsoRefusal.EMAIL_UNVERIFIED: _l(
        "Your school account's email address is not verified. Ask an administrator for access."
    ),
    SsoRefusal.NO_ROLE: _l(
        "Your school account gives you no role in this service. Ask an administrator for access."
    ),
    SsoRefusal.UNKNOWN_ACCOUNT: _l(
        "There is no staff account for your school account. Ask an administrator for an invitation."
    ),
    SsoRefusal.INACTIVE: _l("This account is switched off. Ask an administrator."),
    SsoRefusal.PASSWORD_LOGIN_OFF: _l(
        "Logging in with a password is switched off: sign in with your school account."
    ),
}


def sso_enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("OIDC_ISSUER"))


def password_login_allowed(config: Mapping[str, Any]) -> bool:
    """Passwords are refused only when single sign-on is there to take their place."""
    return bool(config["STAFF_PASSWORD_LOGIN"]) or not sso_enabled(config)


@dataclass(frozen=True)
class SsoSettings:
    """The part of the configuration that decides who gets in."""

    role_claim: str
    role_map: Mapping[str, str]
    create_accounts: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SsoSettings:
        return cls(
            role_claim=config["OIDC_ROLE_CLAIM"],
            role_map=config["OIDC_ROLE_MAP"],
            create_accounts=config["OIDC_CREATE_ACCOUNTS"],
        )


@dataclass(frozen=True)
class SsoResult:
    """The account signed in (or refused, if known), and why a sign-in was refused."""

    staff: StaffUser | None
    refusal: SsoRefusal | None  # None: accepted

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def role_from_claim(value: Any, role_map: Mapping[str, str]) -> Role | None:
    """The role the claim's value (one string or a list of them) maps to, the highest if many."""
    values: Iterable[Any] = [value] if isinstance(value, str) else (value or [])
    if not isinstance(values, list | tuple):
        return None
    granted = {
        Role(role_map[item]) for item in values if isinstance(item, str) and item in role_map
    }
    return next((role for role in ROLE_ORDER if role in granted), None)


def email_is_verified(claims: Mapping[str, Any]) -> bool:
    """True only for ``true`` (some providers send it as a string); absent means no."""
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def sign_in(claims: Mapping[str, Any], settings: SsoSettings) -> SsoResult:
    """Who the provider's verified claims are here. The caller records and commits.

    Decides in this order, so that an account is only touched once its address is proven:
    a verified email, an account with it (or one made, if allowed), active, and a role.
    """
    raw_email = claims.get("email")
    if not isinstance(raw_email, str) or not raw_email.strip():
        return SsoResult(None, SsoRefusal.NO_EMAIL)
    try:
        email = parse_email(raw_email)
    except InvalidValue:
        return SsoResult(None, SsoRefusal.NO_EMAIL)
    if not email_is_verified(claims):
        return SsoResult(None, SsoRefusal.EMAIL_UNVERIFIED)
    role = role_from_claim(claims.get(settings.role_claim), settings.role_map)
    staff = find_staff(email)
    if staff is None:
        if role is None:
            return SsoResult(None, SsoRefusal.NO_ROLE)
        if not settings.create_accounts:
            return SsoResult(None, SsoRefusal.UNKNOWN_ACCOUNT)
        staff = _create_account(email, role)
    if not staff.active:
        return SsoResult(staff, SsoRefusal.INACTIVE)
    if role is None:
        # The provider no longer vouches for this person here: their open sessions end too.
        rotate_session(staff)
        return SsoResult(staff, SsoRefusal.NO_ROLE)
    if staff.role is not role:
        audit.record(
            "staff.role_changed",
            actor="sso",
            staff_id=staff.id,
            old_role=staff.role.value,
            new_role=role.value,
        )
        staff.role = role
        rotate_session(staff)  # sessions with the old role end
    staff.last_login_at = utcnow()
    staff.invited_at = None  # an invitation ends with the first sign-in
    return SsoResult(staff, None)


def _create_account(email: str, role: Role) -> StaffUser:
    """Just-in-time, when allowed: a password nobody knows, so single sign-on is its only way."""
    staff = StaffUser(
        email=email, role=role, password_hash=hash_password(secrets.token_urlsafe(32))
    )
    db.session.add(staff)
    db.session.flush()
    audit.record("staff.created", actor="sso", staff_id=staff.id, role=role.value)
    return staff


def record_sso_login(result: SsoResult, *, address: str | None) -> None:
    """Audit one sign-in through the provider: the staff id at most, nothing the provider said."""
    details: dict[str, str | None] = {
        "method": "sso",
        "outcome": "success" if result.accepted else "failure",
        "address": address,
    }
    if result.refusal:
        details["reason"] = str(result.refusal)
    audit.record("staff.login", actor=actor_of(result.staff), **details)
