"""Single sign-on's rules without a provider: the claim's values as a role, what counts as a
verified address, and the settings that would let nobody in (the app does not start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alumni import create_app
from alumni.accounts.sso import email_is_verified, role_from_claim
from alumni.config import load_config, parse_role_map
from alumni.models import Role
from tests.conftest import base_config

ROLE_MAP = {"urn:x:admin": "admin", "urn:x:office": "officer", "urn:x:research": "researcher"}


@pytest.mark.parametrize(
    ("value", "role"),
    [
        (["urn:x:office"], Role.OFFICER),
        ("urn:x:research", Role.RESEARCHER),  # a single value as a string
        (["urn:x:research", "urn:x:admin", "urn:x:office"], Role.ADMIN),  # the one that may most
        (["urn:x:library"], None),
        ([], None),
        (None, None),
        ({"urn:x:admin": True}, None),  # not a list of strings
        ([["urn:x:admin"]], None),
        ("URN:X:ADMIN", None),  # values are compared exactly
    ],
)
def test_role_from_claim(value, role) -> None:
    assert role_from_claim(value, ROLE_MAP) is role


@pytest.mark.parametrize(
    ("claims", "verified"),
    [
        ({"email_verified": True}, True),
        ({"email_verified": "true"}, True),
        ({"email_verified": False}, False),
        ({"email_verified": "false"}, False),
        ({"email_verified": 1}, False),
        ({}, False),  # absent means no
    ],
)
def test_email_is_verified(claims, verified) -> None:
    assert email_is_verified(claims) is verified


def test_the_role_map_is_read_from_the_environment(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        {
            "OIDC_ISSUER": "https://login.school.example/",
            "OIDC_ROLE_MAP": "urn:x:alumni:admin=admin, urn:x:alumni:office=officer",
            "STAFF_PASSWORD_LOGIN": "off",
        },
    )
    assert config["OIDC_ISSUER"] == "https://login.school.example"
    assert config["OIDC_ROLE_MAP"] == {
        "urn:x:alumni:admin": "admin",
        "urn:x:alumni:office": "officer",
    }
    assert config["OIDC_ROLE_CLAIM"] == "eduPersonEntitlement"
    assert config["OIDC_CREATE_ACCOUNTS"] is False
    assert config["STAFF_PASSWORD_LOGIN"] is False
    defaults = load_config(tmp_path, {})
    assert defaults["OIDC_ISSUER"] is None and defaults["STAFF_PASSWORD_LOGIN"] is True


@pytest.mark.parametrize("value", ["urn:x=boss", "urn:x", "=admin"])
def test_a_role_map_with_an_unknown_role_stops_the_app(value) -> None:
    with pytest.raises(ValueError, match="OIDC_ROLE_MAP"):
        parse_role_map(value)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"STAFF_PASSWORD_LOGIN": False}, "nobody could log in"),
        ({"OIDC_ISSUER": "https://login.school.example"}, "OIDC_CLIENT_ID"),
        (
            {
                "OIDC_ISSUER": "https://login.school.example",
                "OIDC_CLIENT_ID": "alumni",
                "OIDC_CLIENT_SECRET": "secret",
            },
            "OIDC_ROLE_MAP",
        ),
    ],
)
def test_settings_that_let_nobody_in_stop_the_app(tmp_path: Path, settings, complaint) -> None:
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}", **settings)
    with pytest.raises(ValueError, match=complaint):
        create_app(config, instance_path=str(tmp_path))
