"""A new email address, confirmed by its owner (``/confirm-address/``), and undone from the old
one (``/keep-address/``). Each page shows the one address it is about and a button; only the
button's POST changes anything (mail scanners open every link)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template
from sqlalchemy.exc import IntegrityError

from alumni.extensions import db
from alumni.people import addresses
from alumni.web.alumni import bp
from alumni.web.alumni.access import open_link
from alumni.web.alumni.forms import ButtonForm


@bp.route("/confirm-address/<token>", methods=["GET", "POST"])
def confirm_address(token: str) -> Any:
    link = open_link(token)
    change = addresses.waiting_change(link)
    return _one_button(
        lambda: addresses.confirm_change(link, change),
        shown=change.new_email,
        page="alumni/confirm_address.html",
        done="alumni/address_confirmed.html",
    )


@bp.route("/keep-address/<token>", methods=["GET", "POST"])
def keep_address(token: str) -> Any:
    link = open_link(token)
    change = addresses.undoable_change(link)
    return _one_button(
        lambda: addresses.undo_change(link, change),
        shown=change.old_email,
        page="alumni/keep_address.html",
        done="alumni/address_kept.html",
    )


def _one_button(press: Callable[[], bool], *, shown: str | None, page: str, done: str) -> Any:
    """GET shows the address and the button; its POST does ``press`` and says how it went."""
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template(page, form=form, address=shown)
    if _committed(press()):
        return render_template(done)
    return render_template("alumni/address_unavailable.html"), 409


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
