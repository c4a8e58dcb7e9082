"""API tokens on a staff page: each staff member sees, makes and revokes their own; admins see
every token with its owner and may revoke any. A new token is shown once, in the answer to the
POST that made it, and never again."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from alumni.accounts import api_tokens as tokens
from alumni.accounts.access import may
from alumni.accounts.staff import actor_of
from alumni.extensions import db
from alumni.models import ApiToken, Role
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm, TokenForm
from alumni.web.staff.session import reauthentication_required, role_required

# A researcher's token would open nothing: the API admits admins and officers.
MAKERS = (Role.OFFICER,)


@bp.get("/tokens")
@role_required()
def api_tokens() -> str:
    return tokens_page(TokenForm())


@bp.post("/tokens")
@role_required(*MAKERS)
@reauthentication_required(back_to="staff.api_tokens")
def create_token() -> tuple[str, int]:
    """Make a token and show it this once; a password typed long ago is asked for again."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, raw = tokens.create_token(
                current_user.staff,
                name=form.name.data,
                days=form.days.data,
                actor=actor_of(current_user.staff),
            )
        except tokens.TokenError as refusal:
            field = form.days if refusal.code.startswith("days") else form.name
            field.errors = [*field.errors, str(refusal)]
        else:
            db.session.commit()
            return tokens_page(TokenForm(formdata=None), new_token=token, raw=raw), 201
    return tokens_page(form), 400


@bp.post("/tokens/<int:token_id>/revoke")
@role_required()
def revoke_token(token_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if token.staff_id != current_user.staff.id and not may(current_user.staff, Role.ADMIN):
        abort(403)
    if tokens.revoke_token(token, actor=actor_of(current_user.staff)):
        db.session.commit()
    flash(_('The token "%(name)s" is revoked: it opens nothing any more.', name=token.name))
    return redirect(url_for("staff.api_tokens"), code=303)


def tokens_page(form: TokenForm, **context: Any) -> str:
    staff = current_user.staff
    return render_template(
        "staff/tokens.html",
        form=form,
        action_form=ActionForm(),
        may_create=may(staff, *MAKERS),
        max_days=tokens.max_token_days(),
        own=tokens.tokens_to_show(staff),
        everyone=tokens.tokens_to_show() if may(staff, Role.ADMIN) else None,
        is_expired=tokens.is_expired,
        **context,
    )
