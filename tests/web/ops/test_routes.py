"""/metrics: a bearer token when METRICS_TOKEN is set, else this machine only; /healthz open."""

from __future__ import annotations

import pytest

from alumni import create_app
from tests.conftest import base_config

TOKEN = "m" * 40


def test_without_a_token_loopback_may_read(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})

    assert response.status_code == 200
    assert "alumni_emails_sent" in response.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


@pytest.mark.parametrize("address", ["192.0.2.7", "10.0.0.1", "2001:db8::1", ""])
def test_without_a_token_another_machine_is_refused(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert response.status_code == 403
    assert "alumni_" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Real-IP": "127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
    ],
)
def test_a_request_through_an_untrusted_proxy_is_refused(client, header):
    """Nginx on this machine with TRUSTED_PROXIES=0: the loopback address is the proxy's."""
    response = client.get("/metrics", headers=header, environ_base={"REMOTE_ADDR": "127.0.0.1"})

    assert response.status_code == 403


def test_behind_a_trusted_proxy_a_forged_header_does_not_pass(tmp_path, database_url):
    """ProxyFix reads the address the proxy appended (the last one), not the one the client
    wrote: a client far away that writes 127.0.0.1 is still far away."""
    app = create_app(
        base_config(tmp_path, database_url, TRUSTED_PROXIES=1), instance_path=str(tmp_path)
    )
    client = app.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}

    forged = client.get(
        "/metrics", headers={"X-Forwarded-For": "127.0.0.1, 192.0.2.7"}, environ_base=local
    )
    scraper = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}, environ_base=local)

    assert forged.status_code == 403
    assert scraper.status_code == 200
    with app.app_context():
        from alumni.extensions import db

        db.engine.dispose()


@pytest.mark.parametrize("config_overrides", [{"METRICS_TOKEN": TOKEN}])
@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Basic {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_with_a_token_only_the_token_opens(client, config_overrides, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "alumni_" not in response.get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"METRICS_TOKEN": TOKEN}])
def test_with_a_token_any_machine_may_scrape(client, config_overrides):
    response = client.get(
        "/metrics",
        headers={"Authorization": f"Bearer {TOKEN}"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )

    assert response.status_code == 200
    assert "alumni_emails_sent" in response.get_data(as_text=True)


def test_healthz_is_open_to_all(client):
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
