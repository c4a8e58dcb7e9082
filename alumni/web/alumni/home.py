"""The public pages: the front page (what this service is, how to get a fresh link, whom to ask
about privacy, the way to the staff login) and the privacy notice, every version of it. They
are the same for every visitor: nothing personal, no form, no cookie."""

from __future__ import annotations

from flask import abort, render_template

from alumni.consent import notices
from alumni.core.languages import current_locale
from alumni.web.alumni import bp


@bp.get("/", endpoint="home")
def home() -> str:
    return render_template("alumni/home.html")


@bp.get("/privacy", endpoint="privacy")
def privacy() -> str:
    """The version in force."""
    return privacy_notice(notices.version_in_force())


@bp.get("/privacy/<version>", endpoint="privacy_notice")
def privacy_notice(version: str) -> str:
    """One version, as it was published: receipts and evidence link here."""
    notice = notices.find(version)
    if notice is None or not notice.recorded:
        abort(404)
    return render_template(
        "alumni/privacy.html",
        notice=notice,
        notice_html=notices.as_html(notice, current_locale()),
        in_force=notice.version == notices.version_in_force(),
    )
