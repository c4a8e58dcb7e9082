"""The staff dashboard's sections: each shown to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from alumni.accounts.access import may
from alumni.accounts.sso import password_login_allowed
from alumni.models import Role, StaffUser


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: object
    roles: tuple[Role, ...]


# The staff sections, each shown on the dashboard to the roles that may open it, once its
# blueprint is there (the alumni look-up, campaigns, the audit log and the research export
# come with their own modules).
SECTIONS = (
    Section("staff.overview", _l("Consent by graduation year"), (Role.OFFICER,)),
    Section("staff.alumni", _l("Alumni"), (Role.OFFICER,)),
    Section("staff.campaigns", _l("Campaigns"), (Role.OFFICER,)),
    Section("staff.insights", _l("Insights: consent and opens"), (Role.OFFICER,)),
    Section("staff.research_export", _l("Export for research"), (Role.RESEARCHER,)),
    Section("staff.audit_log", _l("Audit log"), (Role.ADMIN,)),
    Section("staff.api_tokens", _l("API tokens for scripts"), ()),
    Section("staff.password", _l("Change your password"), ()),
)


def sections_for(staff: StaffUser) -> list[tuple[str, str]]:
    """(url, label) of every section this staff member may open."""
    return [
        (url_for(section.endpoint), str(section.label))
        for section in SECTIONS
        if section.endpoint in current_app.view_functions
        and may(staff, *section.roles)
        and (section.endpoint != "staff.password" or password_login_allowed(current_app.config))
    ]
