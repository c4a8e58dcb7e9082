"""For the privacy officer (admins): the consent evidence of a period as a file, and the record
of processing activities (Art. 30 GDPR) as the running configuration makes it."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, stream_with_context
from flask_login import current_user

from alumni import audit
from alumni.accounts.staff import actor_of
from alumni.consent import evidence_export
from alumni.extensions import db
from alumni.models import Role, utcnow
from alumni.people import register
from alumni.web.staff import bp
from alumni.web.staff.forms import EvidenceExportForm
from alumni.web.staff.session import role_required

MIMETYPES = {"csv": "text/csv", "json": "application/json"}


@bp.route("/evidence", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def evidence() -> Any:
    """GET: the form. POST: the file; each download is in the audit log with its period,
    format and how many decisions it held."""
    form = EvidenceExportForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template(
            "staff/evidence.html", form=form, columns=evidence_export.COLUMNS
        ), status
    period = evidence_export.Period(form.since.data, form.until.data)
    kind = form.format.data
    audit.record(
        "evidence.exported",
        actor=actor_of(current_user.staff),
        since=period.since.isoformat(),
        until=period.until.isoformat(),
        format=kind,
        count=evidence_export.count(period),
    )
    db.session.commit()
    records = evidence_export.rows(period)
    body = (
        evidence_export.as_csv(records)
        if kind == "csv"
        else evidence_export.as_json(records, period)
    )
    name = f"consent-evidence-{period.since:%Y%m%d}-{period.until:%Y%m%d}-{utcnow():%Y%m%d%H%M}"
    return Response(
        stream_with_context(body),
        mimetype=MIMETYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


@bp.get("/register")
@role_required(Role.ADMIN)
def processing_register() -> str:
    return render_template("staff/register.html", sections=register.build(current_app.config))
