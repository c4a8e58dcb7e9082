"""Helpers to fill in the alumni forms as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from alumni.purposes import Purpose


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def shown_values(html: str) -> dict[str, str]:
    """The personal fields as the page shows them."""
    inputs = re.findall(r'<input[^>]*\bname="([a-z_]+)"[^>]*\bvalue="([^"]*)"', html)
    values = {name: value for name, value in inputs if name not in ("csrf_token", *Purpose)}
    values["gender"] = re.search(r'<option selected value="([a-z]+)"', html).group(1)
    return values


def submit_choices(
    client: FlaskClient, url: str, granted: set[Purpose], **changes: str
) -> tuple[int, str]:
    """Open the form at ``url`` and send it with yes for ``granted`` and no for the rest."""
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), **shown_values(page), **changes}
    data.update({p.value: "yes" if p in granted else "no" for p in Purpose})
    if "/preferences/" in url:
        data.setdefault("action", "save")
        data.setdefault("language", "nl")
    response = client.post(url, data=data)
    return response.status_code, response.get_data(as_text=True)
