"""A new email address, confirmed by its owner (``/confirm-address/``), and undone from the old
one (``/keep-address/``). Each page shows the one address it is about and a button; only the
button's POST changes anything (mail scanners open every link)."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from flask import render_template
from sqlalchemy.exc import IntegrityError

from alumni.extensions import db
from alumni.models import AddressChange
from alumni.people import addresses
from alumni.people.links import Link
from alumni.web.alumni import bp
from alumni.web.alumni.access import open_link
from alumni.web.alumni.forms import ButtonForm


@bp.route("/confirm-address/<token>", methods=["GET", "POST"])
def confirm_address(token: str) -> Any:
    return _one_button(token, addresses.waiting_change, addresses.confirm_change, "confirm")


@bp.route("/keep-address/<token>", methods=["GET", "POST"])
def keep_address(token: str) -> Any:
    return _one_button(token, addresses.undoable_change, addresses.undo_change, "keep")


# Per page: the address it shows, its template, and the one that says it is done.
PAGES = {
    "confirm": (
        attrgetter("new_email"),
        "alumni/confirm_address.html",
        "alumni/address_confirmed.html",
    ),
    "keep": (attrgetter("old_email"), "alumni/keep_address.html", "alumni/address_kept.html"),
}


def _one_button(
    token: str,
    find: Callable[[Link], AddressChange],
    press: Callable[[Link, AddressChange], bool],
    page: str,
) -> Any:
    """GET shows the address and the button; its POST does ``press`` and says how it went."""
    link = open_link(token)
    change = find(link)
    shown, template, done = PAGES[page]
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template(template, form=form, address=shown(change))
    if _committed(press(link, change)):
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
