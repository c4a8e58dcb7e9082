from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from alumni.staff import insights, routes  # noqa: E402, F401
