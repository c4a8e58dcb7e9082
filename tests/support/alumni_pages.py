"""Helpers to fill in the alumni forms as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from alumni.models.purpose import Purpose


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def shown_values(html: str) -> dict[str, str]:
    """The fields as the page shows them; a checkbox only when it is ticked, as a browser
    sends it."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'\bname="([a-z_]+)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if name is None or value is None or name.group(1) in ("csrf_token", *Purpose):
            continue
        if 'type="checkbox"' in tag and not re.search(r"\bchecked\b", tag):
            continue
        values[name.group(1)] = value.group(1)
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
