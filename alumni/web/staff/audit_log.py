"""The audit log for administrators: who did what and when, alumni only by pseudonymous id."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from alumni import audit
from alumni.extensions import db
from alumni.models import Role, StaffUser
from alumni.web.staff import bp
from alumni.web.staff.forms import AuditFilterForm
from alumni.web.staff.session import role_required

PER_PAGE = 50
ACTOR_LABELS = {
    "alumnus": _l("An alumnus, through a link"),
    "system": _l("The system (workers, retention)"),
    "cli": _l("A command on the server"),
    "anonymous": _l("Someone not logged in"),
}


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit_log() -> str:
    form = AuditFilterForm(request.args)
    staff = {
        f"staff:{id_}": email
        for id_, email in db.session.execute(sa.select(StaffUser.id, StaffUser.email))
    }
    form.actor.choices = [SelectChoice("", _l("Everyone"))] + [
        SelectChoice(actor, actor_label(actor, staff)) for actor in audit.known_actors()
    ]
    form.action.choices = [SelectChoice("", _l("Every action"))] + [
        SelectChoice(action, action) for action in audit.known_actions()
    ]
    entries = None
    if form.validate():
        wanted = audit.AuditFilter(
            actor=form.actor.data or "",
            action=form.action.data or "",
            subject_id=(form.subject_id.data or "").strip(),
            since=form.since.data,
            until=form.until.data,
        )
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        entries = db.paginate(audit.search(wanted), page=page, per_page=PER_PAGE, error_out=False)
    return render_template(
        "staff/audit_log.html",
        form=form,
        entries=entries,
        actor_label=lambda actor: actor_label(actor, staff),
        filters={key: value for key, value in request.args.items() if key != "page"},
    ), (200 if entries is not None else 400)


def actor_label(actor: str, staff: dict[str, str]) -> str:
    """Staff by their address (they are the ones accountable), the rest in words."""
    if actor in staff:
        return staff[actor]
    return str(ACTOR_LABELS.get(actor, actor))
