"""Response headers on every page: a strict CSP, HSTS with Secure cookies, a Permissions-Policy
that denies what no page uses but leaves passkeys alone."""

from __future__ import annotations

import pytest

from alumni.web.security import CONTENT_SECURITY_POLICY

PAGES = ["/", "/staff/login", "/api/v1/openapi.json", "/no-such-page", "/healthz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_has_the_headers(client, path):
    response = client.get(path)

    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "interest-cohort"):
        assert f"{feature}=()" in policy
    assert "publickey-credentials" not in policy  # passkeys need them


def test_the_content_security_policy_stays_strict():
    directives = dict(
        part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";") if part.strip()
    )
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "http" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("config_overrides", [{"SESSION_COOKIE_SECURE": True}])
def test_hsts_with_secure_cookies(client, config_overrides):
    response = client.get("/")

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("config_overrides", [{"SESSION_COOKIE_SECURE": False}])
def test_no_hsts_without_secure_cookies(client, config_overrides):
    """A development server on http://localhost must not pin the browser to HTTPS."""
    assert "Strict-Transport-Security" not in client.get("/").headers
