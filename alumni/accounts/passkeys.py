"""Passkeys (WebAuthn, py_webauthn): the phishing-resistant second factor.

The browser signs the server's one-time challenge together with the origin it is on; the
signature is checked against the public key stored at registration, the relying party id
(``WEBAUTHN_RP_ID``) and the origin (``WEBAUTHN_ORIGIN``), so a look-alike site gets nothing it
can use here. The authenticator's sign count is stored; a count that goes back means a cloned
authenticator and is refused. The challenge is kept by the caller (in the session), used once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from alumni import audit
from alumni.accounts.second_factor import SecondFactorError, SecondFactorRefusal
from alumni.extensions import db
from alumni.models import Passkey, StaffUser, utcnow

MAX_NAME = 64


def relying_party(config: Mapping[str, Any]) -> tuple[str, str]:
    """(RP id, origin): from the configuration, else from BASE_URL."""
    base = urlsplit(config["BASE_URL"])
    origin = config.get("WEBAUTHN_ORIGIN") or f"{base.scheme}://{base.netloc}"
    rp_id = config.get("WEBAUTHN_RP_ID") or base.hostname or ""
    return rp_id, origin.rstrip("/")


def _descriptors(staff: StaffUser) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
        for key in staff.passkeys
    ]


def registration_options(staff: StaffUser, config: Mapping[str, Any]) -> tuple[str, str]:
    """The options for navigator.credentials.create() as JSON, and the challenge to keep."""
    rp_id, _origin = relying_party(config)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=config["ORGANISATION_NAME"],
        user_id=f"staff:{staff.id}".encode(),
        user_name=staff.email,
        exclude_credentials=_descriptors(staff),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def register_passkey(
    staff: StaffUser,
    credential: str,
    challenge: str,
    config: Mapping[str, Any],
    name: str = "",
) -> Passkey:
    """Check the browser's answer to ``registration_options`` and keep the new passkey."""
    rp_id, origin = relying_party(config)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise SecondFactorError(SecondFactorRefusal.PASSKEY_REFUSED) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    taken = db.session.scalar(sa.select(Passkey.id).where(Passkey.credential_id == credential_id))
    if taken is not None:
        raise SecondFactorError(SecondFactorRefusal.PASSKEY_REFUSED)
    passkey = Passkey(
        staff_id=staff.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(name.strip() or "Passkey")[:MAX_NAME],
    )
    staff.passkeys.append(passkey)
    db.session.flush()
    audit.record("staff.second_factor.passkey_added", actor=f"staff:{staff.id}", passkey=passkey.id)
    return passkey


def authentication_options(staff: StaffUser, config: Mapping[str, Any]) -> tuple[str, str]:
    """The options for navigator.credentials.get() as JSON, and the challenge to keep."""
    rp_id, _origin = relying_party(config)
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(staff),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def verify_passkey(
    staff: StaffUser, credential: str, challenge: str, config: Mapping[str, Any]
) -> Passkey:
    """Check a signed challenge with one of this account's passkeys; raises SecondFactorError."""
    rp_id, origin = relying_party(config)
    try:
        credential_id = json.loads(credential)["id"]
    except (ValueError, KeyError, TypeError):
        raise SecondFactorError(SecondFactorRefusal.PASSKEY_REFUSED) from None
    passkey = next((key for key in staff.passkeys if key.credential_id == credential_id), None)
    if passkey is None:
        raise SecondFactorError(SecondFactorRefusal.PASSKEY_REFUSED)
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise SecondFactorError(SecondFactorRefusal.PASSKEY_REFUSED) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


def remove_passkey(staff: StaffUser, passkey_id: int) -> bool:
    passkey = next((key for key in staff.passkeys if key.id == passkey_id), None)
    if passkey is None:
        return False
    staff.passkeys.remove(passkey)
    audit.record(
        "staff.second_factor.passkey_removed", actor=f"staff:{staff.id}", passkey=passkey_id
    )
    return True
