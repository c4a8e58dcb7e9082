from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from alumni.web.staff import (  # noqa: E402, F401
    account_security,
    accountability,
    accounts,
    audit_log,
    campaigns,
    imports,
    insights,
    join_requests,
    lookup,
    passwords,
    privacy_notices,
    research,
    routes,
    second_factor,
    sso,
    tokens,
)
