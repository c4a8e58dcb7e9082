"""The public front page: what this service is, how to get a fresh link, whom to ask about
privacy, and the way to the staff login. It is the same for every visitor: nothing personal,
no form, no cookie."""

from __future__ import annotations

from flask import render_template

from alumni.web.alumni import bp


@bp.get("/", endpoint="home")
def home() -> str:
    return render_template("alumni/home.html")
