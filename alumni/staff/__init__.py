from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from alumni.staff import audit_log, campaigns, lookup, research, routes  # noqa: E402, F401
