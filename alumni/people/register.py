"""The record of processing activities (Art. 30 GDPR) for the alumni service, made from the
running configuration each time it is read, so that it cannot drift from what the product
does: the purposes are the product's purposes, the retention periods the configured ones, the
processors the services it is configured to use.

It answers Art. 30(1): the controller and its contact, the purposes, the categories of people
and of data, the recipients, transfers, the time limits for erasure and the security measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import ngettext

from alumni.models import PERSONAL_FIELDS, Role
from alumni.models.purpose import Purpose


@dataclass(frozen=True)
class Entry:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    title: str
    entries: tuple[Entry, ...]


def field_labels() -> dict[str, str]:
    return {
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "preferred_name": _("Preferred name"),
        "email": _("Email address"),
        "phone": _("Phone number"),
        "gender": _("Gender"),
        "date_of_birth": _("Date of birth"),
        "programme": _("Programme"),
        "graduation_year": _("Graduation year"),
    }


def days(count: int) -> str:
    return ngettext("%(num)d day", "%(num)d days", count)


def build(config: Mapping[str, Any]) -> list[Section]:
    """The record, section by section, in the language of the current request or command."""
    return [
        _controller(config),
        _purposes(),
        _people_and_data(config),
        _recipients(config),
        Section(
            _("Transfers outside the European Economic Area"),
            (
                Entry(
                    _("By this service"),
                    _(
                        "None. Check where the servers, the mail relay and the identity "
                        "provider are hosted."
                    ),
                ),
            ),
        ),
        _retention(config),
        _security(config),
    ]


def _controller(config: Mapping[str, Any]) -> Section:
    return Section(
        _("Controller"),
        (
            Entry(_("Organisation"), config["ORGANISATION_NAME"]),
            Entry(_("Contact for privacy questions"), config["PRIVACY_CONTACT"]),
            Entry(_("Sender of the emails"), config["MAIL_FROM"]),
            Entry(_("Address of the service"), config["BASE_URL"]),
        ),
    )


def _purposes() -> Section:
    consent = _("consent (Art. 6(1)(a) GDPR), per purpose, withdrawable at any time")
    entries = [
        Entry(purpose.label, f"{purpose.explanation} {_('Legal basis:')} {consent}.")
        for purpose in Purpose
    ]
    entries.append(
        Entry(
            _("Asking for consent"),
            _(
                "One email to each graduate imported from the student administration, with the "
                "consent form; who does not answer is erased. Legal basis: legitimate interest "
                "(Art. 6(1)(f) GDPR) of staying in touch with one's graduates."
            ),
        )
    )
    return Section(_("Purposes and legal basis"), tuple(entries))


def _people_and_data(config: Mapping[str, Any]) -> Section:
    labels = field_labels()
    kept = config.get("ERASURE_KEEP_FIELDS") or {}
    return Section(
        _("People and data"),
        (
            Entry(
                _("People"),
                _("Graduates of %(organisation)s.", organisation=config["ORGANISATION_NAME"]),
            ),
            Entry(_("Personal data"), ", ".join(labels[field] for field in PERSONAL_FIELDS)),
            Entry(
                _("Also kept"),
                _(
                    "Each consent decision with its time, channel and privacy notice version "
                    "(under a pseudonymous id); which campaign emails went to whom and when; "
                    "keyed hashes of addresses and student numbers never to be mailed again."
                ),
            ),
            Entry(_("Special categories of data"), _("None.")),
            Entry(
                _("Kept after an erasure for a legal duty"),
                "; ".join(f"{labels[field]}: {reason}" for field, reason in kept.items())
                or _("Nothing."),
            ),
        ),
    )


def _recipients(config: Mapping[str, Any]) -> Section:
    entries = [Entry(role.label, _ROLE_ACCESS[role]()) for role in Role]
    smtp = config.get("SMTP_URL")
    entries.append(
        Entry(
            _("Mail relay (processor)"),
            urlsplit(smtp).hostname or smtp
            if smtp
            else _("None configured: emails stay on this server (development outbox)."),
        )
    )
    if config.get("OIDC_ISSUER"):
        entries.append(Entry(_("Identity provider for staff (processor)"), config["OIDC_ISSUER"]))
    entries.append(
        Entry(
            _("Research bureau (processor)"),
            _(
                "Receives, through a researcher's export, only the name, email address, "
                "programme and graduation year of alumni who consent to research."
            ),
        )
    )
    return Section(_("Recipients"), tuple(entries))


_ROLE_ACCESS = {
    Role.ADMIN: lambda: _(
        "Staff (administrator): everything alumni officers see, plus staff accounts, erasure "
        "on request and the audit log."
    ),
    Role.OFFICER: lambda: _(
        "Staff (alumni officer): look-up of alumni, import, invitations, campaigns."
    ),
    Role.RESEARCHER: lambda: _(
        "Staff (researcher): only the export of alumni who consent to research."
    ),
}


def _retention(config: Mapping[str, Any]) -> Section:
    return Section(
        _("Time limits for erasure"),
        (
            Entry(_("Alumni who consent"), _("As long as they consent to at least one purpose.")),
            Entry(
                _("Graduates who did not answer the invitation"),
                days(config["INVITE_TTL_DAYS"]),
            ),
            Entry(_("Who got which campaign email"), days(config["DELIVERY_RETENTION_DAYS"])),
            Entry(_("Audit log"), days(config["AUDIT_RETENTION_DAYS"])),
            Entry(_("Links in emails work at most"), days(config["LINK_MAX_AGE_DAYS"])),
            Entry(
                _("Consent evidence"),
                _("Kept as proof of each decision, under a pseudonymous id only."),
            ),
            Entry(
                _("Suppression list and erasure ledger"),
                _(
                    "Keyed hashes only, kept so that an erased person is never mailed again "
                    "and stays erased after a backup is restored."
                ),
            ),
        ),
    )


def _security(config: Mapping[str, Any]) -> Section:
    researchers = (
        _("also for researchers")
        if config["STAFF_SECOND_FACTOR_RESEARCHER"]
        else _("not for researchers")
    )
    return Section(
        _("Security measures"),
        (
            Entry(
                _("Staff login"),
                _(
                    "A second factor (authenticator app or passkey) for administrators and "
                    "alumni officers, %(researchers)s; passwords of at least 12 characters "
                    "checked against guessable ones and stored with argon2; failed logins "
                    "rate-limited.",
                    researchers=researchers,
                ),
            ),
            Entry(
                _("Staff sessions"),
                _(
                    "End after %(idle)d minutes unused and after %(hours)d hours in all; the "
                    "password is asked again before sensitive actions.",
                    idle=config["STAFF_SESSION_IDLE_MINUTES"],
                    hours=config["STAFF_SESSION_MAX_HOURS"],
                ),
            ),
            Entry(
                _("Access"),
                _(
                    "By role; every look-up, export and erasure is in the audit log, which "
                    "names alumni only by a pseudonymous id."
                ),
            ),
            Entry(
                _("Links in emails"),
                _("Signed, each good for the one job it was sent for, and for a limited time."),
            ),
            Entry(
                _("Newsletter opens"),
                _(
                    "Counted per campaign without storing which code went to whom, and "
                    "without IP address, browser or cookie."
                )
                if config["OPEN_TRACKING"]
                else _("Not measured."),
            ),
            Entry(
                _("Connections"),
                _("Secure cookies and HSTS (browsers keep to HTTPS).")
                if config["SESSION_COOKIE_SECURE"]
                else _("Secure cookies are off: this server is not fit for production."),
            ),
            Entry(
                _("Pages"),
                _("No third-party resources (no fonts, scripts or analytics from elsewhere)."),
            ),
        ),
    )


def as_text(sections: list[Section], *, title: str) -> str:
    """The record as plain text (Markdown), for the command line and for a file."""
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [f"- **{entry.label}**: {entry.value}" for entry in section.entries]
        lines.append("")
    return "\n".join(lines)
