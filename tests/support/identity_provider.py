"""A real OpenID Connect provider on loopback for the single sign-on tests: the npm package
``oidc-provider`` run by node (``tests/support/oidc/provider.mjs``).

Its node_modules are installed with ``npm ci`` when missing (``.ci/run`` does it too). Without
node the tests that need it are skipped with the reason; with ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

OIDC_FOLDER = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "alumni-staff"
# A secret of the test provider only, registered there and nowhere else.
CLIENT_SECRET = "test-client-secret-" + "s" * 32
ROLE_CLAIM = "eduPersonEntitlement"
ADMIN, OFFICE, RESEARCH = "urn:x:alumni:admin", "urn:x:alumni:office", "urn:x:alumni:research"
ROLE_MAP = {ADMIN: "admin", OFFICE: "officer", RESEARCH: "researcher"}
SCOPE = "openid email entitlements"
START_SECONDS = 20


def node_available() -> tuple[bool, str]:
    """node and the provider's packages, installed with ``npm ci`` if they are missing."""
    if shutil.which("node") is None:
        return False, "node is not installed (apt-get install nodejs npm)"
    if (OIDC_FOLDER / "node_modules" / "oidc-provider").is_dir():
        return True, ""
    npm = shutil.which("npm")
    if npm is None:
        return False, f"npm is not installed to run `npm ci` in {OIDC_FOLDER}"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=OIDC_FOLDER,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return False, f"`npm ci` in {OIDC_FOLDER} failed: {done.stderr.strip()[-500:]}"
    return True, ""


def claims(email: str, *entitlements: str, verified: bool = True, **extra: Any) -> dict:
    """What the provider says about a person."""
    return {"email": email, "email_verified": verified, ROLE_CLAIM: list(entitlements), **extra}


@dataclass
class IdentityProvider:
    issuer: str
    redirect_uri: str
    users_file: Path

    def set_users(self, users: Mapping[str, Mapping[str, Any]]) -> None:
        """Who the provider knows (login -> claims); read by the provider at every sign-in."""
        partial = self.users_file.with_suffix(".tmp")
        partial.write_text(json.dumps(users))
        partial.replace(self.users_file)

    def app_config(self, **overrides: Any) -> dict[str, Any]:
        """The app's settings for this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPE": SCOPE,
            "OIDC_ROLE_CLAIM": ROLE_CLAIM,
            "OIDC_ROLE_MAP": dict(ROLE_MAP),
            "OIDC_CREATE_ACCOUNTS": False,
            **overrides,
        }

    def sign_in(self, authorization_url: str, login: str) -> str:
        """Go through the provider's pages as a person would, over HTTP, and return the
        answer it sends the browser back with (``redirect_uri?code=…&state=…``)."""
        browser = requests.Session()
        url = authorization_url
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if url.startswith(self.redirect_uri):
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form and 'name="login"' in response.text, response.text[:500]
            response = browser.post(
                urljoin(url, unescape(form.group(1))),
                data={"prompt": "login", "login": login, "password": "any password"},
                allow_redirects=False,
                timeout=10,
            )
            assert response.is_redirect, response.text[:500]
            url = urljoin(url, response.headers["Location"])
        raise AssertionError("the provider did not send the browser back")


@contextmanager
def running_provider(folder: Path, redirect_uri: str) -> Iterator[IdentityProvider]:
    """oidc-provider on a free loopback port, with our client registered for ``redirect_uri``."""
    users_file = folder / "users.json"
    users_file.write_text("{}")
    settings = folder / "provider-settings.json"
    settings.write_text(
        json.dumps(
            {
                "port": 0,
                "users_file": str(users_file),
                "client": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [redirect_uri],
                },
            }
        )
    )
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", str(OIDC_FOLDER / "provider.mjs"), str(settings)],
        cwd=OIDC_FOLDER,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    try:
        issuer = _announced_issuer(process, folder / "provider.log")
        yield IdentityProvider(issuer=issuer, redirect_uri=redirect_uri, users_file=users_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
        log.close()


def _announced_issuer(process: subprocess.Popen, log: Path) -> str:
    """The issuer the provider prints once it listens; then its discovery document answers."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as waiting:
        waiting.register(process.stdout, selectors.EVENT_READ)
        ready = waiting.select(timeout=START_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        process.wait(timeout=5)
        raise RuntimeError(f"oidc-provider did not start: {log.read_text()[-2000:]}")
    issuer = json.loads(line)["issuer"]
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                return issuer
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"oidc-provider at {issuer} does not answer")
        time.sleep(0.1)
