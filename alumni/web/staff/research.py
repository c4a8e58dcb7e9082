"""The research export: the one thing the researcher role may see (also admins)."""

from __future__ import annotations

from flask import Response, abort, render_template, stream_with_context
from flask_login import current_user

from alumni import audit
from alumni.accounts.staff import actor_of
from alumni.extensions import db
from alumni.models import Role, utcnow
from alumni.people import research
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm
from alumni.web.staff.session import role_required


@bp.get("/research-export")
@role_required(Role.RESEARCHER)
def research_export() -> str:
    return render_template(
        "staff/research_export.html",
        count=research.count_research_alumni(),
        columns=research.COLUMNS,
        form=ActionForm(),
    )


@bp.post("/research-export")
@role_required(Role.RESEARCHER)
def download_research_export() -> Response:
    """The CSV file; each download is in the audit log with how many people it held."""
    if not ActionForm().validate_on_submit():
        abort(400)
    audit.record(
        "research.exported",
        actor=actor_of(current_user.staff),
        count=research.count_research_alumni(),
        columns=list(research.COLUMNS),
    )
    db.session.commit()
    name = f"research-export-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(research.as_csv(research.research_rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
