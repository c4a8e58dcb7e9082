"""The staff second factor: TOTP codes, single-use recovery codes, and (in
``alumni.accounts.passkeys``) passkeys. Required for admins and officers, and for researchers
unless ``STAFF_SECOND_FACTOR_RESEARCHER=off``.

A TOTP code counts once: the 30-second step it belongs to is stored as ``totp_last_counter`` and
a code of that step or an earlier one is refused, in one conditional UPDATE, so two requests
racing with the same code cannot both win.

Recovery codes carry 80 random bits each (16 characters of a 32-symbol alphabet). Each is kept
as SHA-256 over a random 128-bit salt of its own and the code: a slow hash such as argon2
protects secrets people choose, which are few enough to try one by one; 2^80 codes are not, and
the salt means a leaked table cannot be attacked for all codes at once (ASVS 2.6.2 asks for a
salt of 32 bits or more below 112 bits of entropy). A typed code is compared with the ten of its
account only.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

from alumni import audit
from alumni.accounts.notices import StaffNotice, notify
from alumni.accounts.staff import rotate_session
from alumni.extensions import db
from alumni.models import RecoveryCode, Role, StaffUser, utcnow

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 5 bits each
_RECOVERY_LENGTH = 16  # 80 bits
TOTP_STEP = 30
TOTP_WINDOW = 1  # the step before and the step after count too: clocks drift


class SecondFactorMethod(StrEnum):
    TOTP = "totp"
    RECOVERY_CODE = "recovery-code"
    PASSKEY = "passkey"
    NOT_REQUIRED = "not-required"


class SecondFactorRefusal(StrEnum):
    """Why a second step was refused, as the audit log records it."""

    WRONG_CODE = "wrong-code"
    REPLAYED_CODE = "replayed-code"
    WRONG_RECOVERY_CODE = "wrong-recovery-code"
    PASSKEY_REFUSED = "passkey-refused"

    @property
    def label(self) -> str:
        return str(REFUSAL_LABELS[self])


REFUSAL_LABELS = {
    SecondFactorRefusal.WRONG_CODE: _l("This code is not correct. Type the current code."),
    SecondFactorRefusal.REPLAYED_CODE: _l(
        "This code has been used already. Wait for the next code."
    ),
    SecondFactorRefusal.WRONG_RECOVERY_CODE: _l("This recovery code is not correct or was used."),
    SecondFactorRefusal.PASSKEY_REFUSED: _l("The passkey was not accepted."),
}


class SecondFactorError(Exception):
    def __init__(self, refusal: SecondFactorRefusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal

    def __str__(self) -> str:
        return self.refusal.label


# -- who needs what ---------------------------------------------------------------------------


def required(staff: StaffUser, config: Mapping[str, Any]) -> bool:
    if staff.role is Role.RESEARCHER:
        return bool(config["STAFF_SECOND_FACTOR_RESEARCHER"])
    return True


def enrolled(staff: StaffUser) -> bool:
    return bool(staff.totp_secret) or bool(staff.passkeys)


def needs_enrolment(staff: StaffUser, config: Mapping[str, Any]) -> bool:
    return required(staff, config) and not enrolled(staff)


def summary(staff: StaffUser) -> str:
    """The second factors of an account in a few words: "TOTP + 2 passkeys", "none"."""
    parts = []
    if staff.totp_secret:
        parts.append(_("TOTP"))
    if staff.passkeys:
        count = len(staff.passkeys)
        parts.append(ngettext("%(num)d passkey", "%(num)d passkeys", count))
    return " + ".join(parts) if parts else _("none")


def recovery_codes_left(staff: StaffUser) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None))
    )


# -- TOTP -------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 32 characters: 160 bits, as RFC 4226 recommends


def provisioning_uri(staff: StaffUser, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: drawn here, no script and no third party (strict CSP)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", border=2)
    return Markup(svg)


def _matching_counter(secret: str, code: str, now: float | None = None) -> int | None:
    """The 30-second step within ±1 whose code this is, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // TOTP_STEP)
    for counter in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def _claim_counter(staff: StaffUser, counter: int) -> bool:
    """Store the step as the last used one, only when it is later: one winner per code."""
    table = StaffUser.__table__
    claimed = db.session.execute(
        sa.update(table)
        .where(
            table.c.id == staff.id,
            sa.or_(table.c.totp_last_counter.is_(None), table.c.totp_last_counter < counter),
        )
        .values(totp_last_counter=counter)
    )
    if claimed.rowcount != 1:
        return False
    db.session.expire(staff, ["totp_last_counter"])
    return True


def verify_totp(staff: StaffUser, code: str) -> None:
    """Accept a current TOTP code once; raises SecondFactorError (the caller audits)."""
    counter = _matching_counter(staff.totp_secret or "", code) if staff.totp_secret else None
    if counter is None:
        raise SecondFactorError(SecondFactorRefusal.WRONG_CODE)
    if not _claim_counter(staff, counter):
        raise SecondFactorError(SecondFactorRefusal.REPLAYED_CODE)


def enrol_totp(staff: StaffUser, secret: str, code: str) -> None:
    """Make ``secret`` this account's TOTP key once a code from it proves the app has it."""
    counter = _matching_counter(secret, code)
    if counter is None:
        raise SecondFactorError(SecondFactorRefusal.WRONG_CODE)
    replacing = bool(staff.totp_secret)
    staff.totp_secret = secret
    staff.totp_last_counter = counter
    audit.record(
        "staff.second_factor.totp_" + ("replaced" if replacing else "added"),
        actor=f"staff:{staff.id}",
    )


# -- recovery codes ---------------------------------------------------------------------------


def _normalise_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _hash_recovery_code(code: str, salt: str | None = None) -> str:
    """``salt$sha256(salt + code)``, the salt new when not given."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256((salt + _normalise_recovery_code(code)).encode()).hexdigest()
    return f"{salt}${digest}"


def _matches(stored: str, code: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return secrets.compare_digest(_hash_recovery_code(code, salt), stored)


def _format_recovery_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_recovery_codes(staff: StaffUser) -> list[str]:
    """Ten fresh codes, replacing the earlier ones; returned once, kept only hashed."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    codes = [
        _format_recovery_code(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(staff_id=staff.id, code_hash=_hash_recovery_code(code)) for code in codes
    )
    db.session.flush()
    db.session.expire(staff, ["recovery_codes"])
    audit.record("staff.second_factor.recovery_codes_made", actor=f"staff:{staff.id}")
    return codes


def use_recovery_code(staff: StaffUser, code: str) -> None:
    """Spend one recovery code; raises SecondFactorError when it is unknown or spent."""
    unused = db.session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    found = next((row.id for row in unused if _matches(row.code_hash, code)), None)
    # Spent only if still unused now: of two requests with the same code, one wins.
    spent = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id == found, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if found is None or spent.rowcount != 1:
        raise SecondFactorError(SecondFactorRefusal.WRONG_RECOVERY_CODE)


def looks_like_totp(code: str) -> bool:
    code = code.strip().replace(" ", "")
    return len(code) == 6 and code.isdigit()


def verify_code(staff: StaffUser, code: str) -> SecondFactorMethod:
    """A TOTP code (six digits) or a recovery code; raises SecondFactorError."""
    if looks_like_totp(code):
        verify_totp(staff, code)
        return SecondFactorMethod.TOTP
    use_recovery_code(staff, code)
    return SecondFactorMethod.RECOVERY_CODE


def record_attempt(
    staff: StaffUser,
    *,
    outcome: str,
    method: str | None = None,
    reason: str | None = None,
    address: str | None = None,
    action: str = "staff.second_factor",
) -> None:
    """Audit one second step; the code itself is never recorded."""
    details: dict[str, str | None] = {"outcome": outcome, "address": address}
    if method:
        details["method"] = method
    if reason:
        details["reason"] = reason
    audit.record(action, actor=f"staff:{staff.id}", **details)


# -- reset by an admin ------------------------------------------------------------------------


def reset_second_factor(staff: StaffUser, *, actor: str) -> None:
    """Forget every second factor of ``staff`` and end their sessions; the next login goes
    through enrolment. The colleague is told by email after the commit (the caller commits)."""
    staff.totp_secret = None
    staff.totp_last_counter = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    staff.passkeys.clear()
    rotate_session(staff)  # every session ends
    db.session.flush()
    db.session.expire(staff, ["recovery_codes"])
    audit.record("staff.second_factor.reset", actor=actor, staff_id=staff.id)
    notify(staff, StaffNotice.SECOND_FACTOR_RESET)
