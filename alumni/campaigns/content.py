"""A campaign's content: Markdown rendered to sanitised HTML, and the email per recipient.

Every campaign email says why the person gets it and carries the one-click opt-out (RFC 8058)
in its headers and a visible link in its footer (I4).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Protocol

from babel import dates as babel_dates
from flask import current_app
from markupsafe import escape

from alumni.core.markdown import render_markdown as render_body
from alumni.mail import Email
from alumni.mail.compose import one_click_headers, render_email
from alumni.models import LOCAL_TIME, Campaign
from alumni.models.purpose import Purpose
from alumni.people.links import LinkHolder, LinkKind, LinkMaker


class CampaignContent(Protocol):
    """What an email needs of its campaign: a ``Campaign``, or a ``CampaignSnapshot``."""

    id: int
    purpose: Purpose | None
    subject: str
    body: str


@dataclass(frozen=True)
class CampaignSnapshot:
    """A campaign's content read once per batch: sending never reloads it per recipient."""

    id: int
    purpose: Purpose | None  # None: a renewal, about every purpose
    subject: str
    body: str
    body_html: str
    tracking: bool
    tracking_key: str
    # A renewal's reason ("notice": a material notice; "aged": consent given long ago), and
    # whether this one is the reminder.
    renewal_reason: str | None = None
    reminder: bool = False
    # The email per language, rendered once for the batch (see ``Personaliser``).
    layouts: dict[tuple[str, bool, bool], Email] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignSnapshot:
        first = campaign.reminded if campaign.reminds_id is not None else campaign
        return cls(
            campaign.id,
            None if campaign.purpose is None else Purpose(campaign.purpose),
            campaign.subject,
            campaign.body,
            render_body(campaign.body),
            campaign.tracking and not campaign.is_renewal,
            campaign.tracking_key,
            renewal_reason=(first.renewal_key or "").partition(":")[0] or None,
            reminder=campaign.reminds_id is not None,
        )

    @property
    def is_renewal(self) -> bool:
        return self.purpose is None

    @property
    def sent_label(self) -> str:
        """The label of the sent-emails counter: the purpose, or "renewal"."""
        return "renewal" if self.purpose is None else self.purpose.value


@dataclass(frozen=True)
class Recipient:
    """What a campaign email needs of its recipient."""

    email: str
    name: str
    locale: str
    consent_since: datetime
    unsubscribe_url: str
    unsubscribe_token: str
    preferences_url: str


class Addressee(LinkHolder, Protocol):
    """What an email needs of its person: an ``Alumnus``, or a row read for sending."""

    @property
    def email(self) -> str | None: ...

    @property
    def locale(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class Personaliser:
    """A campaign's email for one person after another (a courier's batch). What every email
    shares is looked up once: the link keys and addresses; the layouts are rendered once per
    language (see ``_layout``). Make one per batch: the configuration is read when it is
    made."""

    def __init__(self, campaign: CampaignContent, body_html: str) -> None:
        """``body_html`` is ``render_body(campaign.body)``."""
        self.campaign = campaign
        self.body_html = body_html
        self._unsubscribe = LinkMaker(LinkKind.UNSUBSCRIBE)
        self._preferences = LinkMaker(LinkKind.PREFERENCES)

    def recipient(self, alumnus: Addressee, consent_since: datetime) -> Recipient:
        campaign = self.campaign
        token = self._unsubscribe.token(alumnus, campaign.purpose.value, campaign.id)
        return Recipient(
            email=alumnus.email or "",
            name=alumnus.display_name,
            locale=alumnus.locale,
            consent_since=consent_since,
            unsubscribe_url=self._unsubscribe.url_for_token(token),
            unsubscribe_token=token,
            preferences_url=self._preferences.url(alumnus),
        )

    def email(self, recipient: Recipient, pixel_url: str | None = None) -> Email:
        """The email as this recipient gets it. ``pixel_url`` (``alumni.opens.pixel_url``) is
        made apart from the recipient and kept nowhere: the HTML loads it, the plain text does
        not need it."""
        layout = _layout(
            self.campaign, self.body_html, recipient.locale, bool(recipient.name), bool(pixel_url)
        )
        since = long_date(recipient.consent_since.astimezone(LOCAL_TIME).date(), recipient.locale)
        values = {
            "name": recipient.name,
            "since": since,
            "unsubscribe_url": recipient.unsubscribe_url,
            "preferences_url": recipient.preferences_url,
            "pixel_url": pixel_url or "",
        }
        return Email(
            recipient.email,
            layout.subject,
            _fill(layout.text, values, str),
            _fill(layout.html, values, escape),
            one_click_headers(recipient.unsubscribe_url, recipient.unsubscribe_token),
        )


class RenewalPersonaliser:
    """A renewal's email for one person after another: in their language, why we ask again
    and a link to the notice in force, their choices now, the "keep my choices" page, the
    preferences, and "do not contact me any more" as the one-click opt-out (I4). Rendered per
    person: the choices differ from one to the next."""

    def __init__(self, campaign: CampaignSnapshot, notice_version: str) -> None:
        self.campaign = campaign
        self._keep = LinkMaker(LinkKind.RENEWAL)
        self._decline = LinkMaker(LinkKind.DECLINE)
        self._preferences = LinkMaker(LinkKind.PREFERENCES)
        path = current_app.url_map.bind("localhost").build(
            "alumni.privacy_notice", {"version": notice_version}
        )
        self._notice_url = current_app.config["BASE_URL"] + path

    def email(self, person: Addressee, choices: Mapping[Purpose, bool]) -> Email:
        token = self._decline.token(person)
        unsubscribe_url = self._decline.url_for_token(token)
        return render_email(
            "renewal",
            to=person.email or "",
            locale=person.locale,
            headers=one_click_headers(unsubscribe_url, token),
            name=person.display_name,
            reason=self.campaign.renewal_reason,
            reminder=self.campaign.reminder,
            choices=[(purpose, choices.get(purpose, False)) for purpose in Purpose],
            notice_url=self._notice_url,
            keep_url=self._keep.url(person),
            preferences_url=self._preferences.url(person),
            unsubscribe_url=unsubscribe_url,
        )


def sample_recipient(email: str, locale: str = "nl") -> Recipient:
    """For previews and test sends: the links lead to the "link does not work" page."""
    base = current_app.config["BASE_URL"]
    return Recipient(
        email=email,
        name="",
        locale=locale,
        consent_since=datetime.now().astimezone(),
        unsubscribe_url=f"{base}/unsubscribe/preview",
        unsubscribe_token="preview",
        preferences_url=f"{base}/preferences/preview",
    )


def campaign_email(
    campaign: CampaignContent,
    recipient: Recipient,
    body_html: str,
    pixel_url: str | None = None,
) -> Email:
    """One email as this recipient gets it (see ``Personaliser`` for many)."""
    return Personaliser(campaign, body_html).email(recipient, pixel_url)


@lru_cache(maxsize=4096)
def long_date(day: date, locale: str) -> str:
    """ "3 maart 2026": alumni said yes on a few hundred different days, not once each."""
    return babel_dates.format_date(day, format="long", locale=locale)


# A campaign email is rendered once per language (and with or without a name and a pixel),
# with a slot for each of the recipient's values, which are filled in per recipient: the
# templates and the CSS inlining cost more than all the rest of an email.
_SLOT = "\ue000{}\ue000"  # a private-use character: never in a template, a name or a URL
_SLOTS = re.compile("\ue000(name|since|unsubscribe_url|preferences_url|pixel_url)\ue000")


def _layout(
    campaign: CampaignContent, body_html: str, locale: str, named: bool, pixel: bool
) -> Email:
    layouts = getattr(campaign, "layouts", None)  # a snapshot keeps them for its batch
    key = (locale, named, pixel)
    if layouts is not None and key in layouts:
        return layouts[key]
    layout = render_email(
        "campaign",
        to="",
        locale=locale,
        subject=campaign.subject,
        name=_SLOT.format("name") if named else "",
        body_html=body_html,
        body_text=campaign.body,
        purpose=campaign.purpose,
        since=_SLOT.format("since"),
        unsubscribe_url=_SLOT.format("unsubscribe_url"),
        preferences_url=_SLOT.format("preferences_url"),
        pixel_url=_SLOT.format("pixel_url") if pixel else None,
    )
    if layouts is not None:
        layouts[key] = layout
    return layout


def _fill(layout: str, values: dict[str, str], quote: Callable[[str], str]) -> str:
    """A value is never searched for slots itself."""
    pieces = list(_pieces(layout))
    for slot in range(1, len(pieces), 2):
        pieces[slot] = quote(values[pieces[slot]])
    return "".join(pieces)


@lru_cache(maxsize=64)
def _pieces(layout: str) -> tuple[str, ...]:
    """The layout cut at its slots, once per layout: text, slot name, text, and so on."""
    return tuple(_SLOTS.split(layout))
