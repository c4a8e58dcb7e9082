from flask import Blueprint

bp = Blueprint("alumni", __name__)

from alumni.alumni_pages import address, home, optout, routes  # noqa: E402, F401
