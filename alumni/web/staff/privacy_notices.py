"""The privacy notice's versions for administrators: each one whole, and two side by side with
what changed between them. Publishing is a command on the server (``notice publish``): a
published text is evidence and never changes, so it is not edited in a browser."""

from __future__ import annotations

from flask import abort, render_template, request

from alumni.consent import notices
from alumni.models import Role
from alumni.web.staff import bp
from alumni.web.staff.session import role_required

LANGUAGES = ("nl", "en")


@bp.get("/notices")
@role_required(Role.ADMIN)
def notice_versions() -> str:
    return render_template(
        "staff/notices.html",
        versions=notices.every_version(),
        in_force=notices.version_in_force(),
    )


@bp.get("/notices/<version>")
@role_required(Role.ADMIN)
def notice_version(version: str) -> str:
    """One version; compared with ``?against=`` (by default the one before it), in the
    language ``?language=`` (Dutch by default)."""
    notice = notices.find(version)
    if notice is None:
        abort(404)
    language = request.args.get("language", "nl")
    if language not in LANGUAGES:
        abort(404)
    against_version = request.args.get("against")
    if against_version:
        against = notices.find(against_version)
        if against is None:
            abort(404)
    else:
        against = notices.previous(notice)
    comparison = (
        notices.compare(against.text(language), notice.text(language))
        if against is not None
        else None
    )
    return render_template(
        "staff/notice.html",
        notice=notice,
        against=against,
        language=language,
        languages=LANGUAGES,
        comparison=comparison,
        versions=notices.every_version(),
        notice_html=notices.as_html(notice, language),
    )
