"""Graduates from a spreadsheet, and their invitations: the ``import`` and ``invite`` commands
as a page for officers. The page reports what the command prints, every rejected row with its
line and reason and the totals, and both steps are in the audit log (by the importer and by
``invite_graduates``), with counts only."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from alumni.accounts.access import may
from alumni.accounts.staff import actor_of
from alumni.models import Role
from alumni.people import importer, invitations
from alumni.web.staff import bp
from alumni.web.staff.forms import ImportForm, InviteForm
from alumni.web.staff.session import role_required

# About 45,000 rows of a school's export: a few seconds of work inside one request. Larger
# files are for the `import` command on the server (or split into several files).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# The request around the file: multipart boundaries, part headers and the CSRF token. A file
# just over MAX_UPLOAD_BYTES still arrives, and the form says what is wrong with it.
UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024
EVERYONE = "all"


def may_upload() -> bool:
    """Whether this request comes from staff who may import (the view's own role)."""
    return current_user.is_authenticated and may(current_user.staff, Role.OFFICER)


@bp.url_value_preprocessor
def allow_upload(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Raise MAX_CONTENT_LENGTH for an upload to the import, from an officer only.

    It has to happen before anything reads the body: CSRFProtect and the rate limiter read the
    form in before_request hooks, and url_value_preprocessors run before those.
    """
    if endpoint != "staff.import_graduates" or request.method != "POST" or not may_upload():
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and limit < UPLOAD_BODY_LIMIT:
        request.max_content_length = UPLOAD_BODY_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """Any staff page's 413, refused before its view ran; for an officer's upload to the
    import, the message the import form gives."""
    upload = request.endpoint == "staff.import_graduates" and may_upload()
    message = too_large_file() if upload else None
    return render_template("staff/error.html", code=413, message=message), 413


def too_large_file() -> str:
    return _(
        "The file is larger than %(size)d MB. Split it into smaller files, or ask the "
        "administrator to run the import command on the server.",
        size=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


def _invite_form(waiting: dict[int, int]) -> InviteForm:
    form = InviteForm()
    everyone = sum(waiting.values())
    form.cohort.choices = [(EVERYONE, _("Everyone waiting (%(count)d)", count=everyone))] + [
        (str(year), _("Graduated in %(year)d (%(count)d)", year=year, count=count))
        for year, count in waiting.items()
    ]
    return form


def _page(
    form: ImportForm,
    report: importer.ImportReport | None = None,
    invite_form: InviteForm | None = None,
    waiting: dict[int, int] | None = None,
) -> Any:
    """The page, with the upload form, the report of an import and the invitations
    (``waiting``: ``invitations.waiting_per_year()`` when the caller has it already)."""
    waiting = invitations.waiting_per_year() if waiting is None else waiting
    invite_form = invite_form or _invite_form(waiting)
    status = 400 if form.errors or invite_form.errors else 200
    return render_template(
        "staff/import.html",
        form=form,
        report=report,
        invite_form=invite_form,
        waiting=sum(waiting.values()),
        queued=invitations.queued_unsent(),
        max_megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
        labels=importer.OUTCOME_LABELS,
    ), status


@bp.route("/import", methods=["GET", "POST"], endpoint="import_graduates")
@role_required(Role.OFFICER)
def import_graduates() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form)
    upload = form.csv_file.data
    try:
        data = upload.read(MAX_UPLOAD_BYTES + 1)
    finally:
        upload.close()  # a large upload waits in a temporary file
    if len(data) > MAX_UPLOAD_BYTES:
        form.csv_file.errors = [too_large_file()]
        return _page(form)
    try:
        report = importer.import_graduates(data, actor=actor_of(current_user.staff))
    except importer.ImportFileError as error:
        form.csv_file.errors = [_("Nothing imported: %(reason)s", reason=error.message)]
        return _page(form)
    return _page(ImportForm(formdata=None), report)


@bp.post("/invite", endpoint="invite_graduates")
@role_required(Role.OFFICER)
def invite_graduates() -> Any:
    waiting = invitations.waiting_per_year()
    form = _invite_form(waiting)
    if not form.validate_on_submit():
        return _page(ImportForm(formdata=None), invite_form=form, waiting=waiting)
    cohort = None if form.cohort.data == EVERYONE else int(form.cohort.data)
    ids = invitations.invite_graduates(cohort, actor=actor_of(current_user.staff))
    flash(
        ngettext(
            "%(num)d invitation is being sent.", "%(num)d invitations are being sent.", len(ids)
        )
    )
    return redirect(url_for("staff.import_graduates"), code=303)
