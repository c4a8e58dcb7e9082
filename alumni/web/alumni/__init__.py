from flask import Blueprint

bp = Blueprint("alumni", __name__)

from alumni.web.alumni import address, home, join, optout, renewal, routes  # noqa: E402, F401
