"""A new email address, confirmed by its owner (``/confirm-address/``), and undone from the old
one (``/keep-address/``). Each page shows the one address it is about and a button; only the
button's POST changes anything (mail scanners open every link)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.exc import IntegrityError

from alumni import addresses
from alumni.alumni_pages import bp
from alumni.alumni_pages.access import open_link
from alumni.alumni_pages.forms import ButtonForm
from alumni.extensions import db


@bp.route("/confirm-address/<token>", methods=["GET", "POST"])
def confirm_address(token: str) -> Any:
    link = open_link(token)
    change = addresses.waiting_change(link)
    form = ButtonForm()
    if form.validate_on_submit():
        if _committed(addresses.confirm_change(link, change)):
            return render_template("alumni/address_confirmed.html")
        return render_template("alumni/address_unavailable.html"), 409
    return render_template("alumni/confirm_address.html", form=form, address=change.new_email)


@bp.route("/keep-address/<token>", methods=["GET", "POST"])
def keep_address(token: str) -> Any:
    link = open_link(token)
    change = addresses.undoable_change(link)
    form = ButtonForm()
    if form.validate_on_submit():
        if _committed(addresses.undo_change(link, change)):
            return render_template("alumni/address_kept.html")
        return render_template("alumni/address_unavailable.html"), 409
    return render_template("alumni/keep_address.html", form=form, address=change.old_email)


def _committed(changed: bool) -> bool:
    """Commit a change of address; False when there was none, or when another person's
    confirmation took the address a moment before (the database's unique address)."""
    if not changed:
        db.session.rollback()
        return False
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
