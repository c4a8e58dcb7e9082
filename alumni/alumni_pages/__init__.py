from flask import Blueprint

bp = Blueprint("alumni", __name__)

from alumni.alumni_pages import home, routes  # noqa: E402, F401
