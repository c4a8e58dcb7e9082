"""Campaign pages for officers: write, preview, test, schedule, watch, and read the counts.

Everything here can also be done through the JSON API; both call ``alumni.campaigns.service``.
A state change locks the campaign row first, so the scheduler's tick cannot interleave with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from alumni import audit, mail
from alumni.accounts.staff import actor_of
from alumni.campaigns import service
from alumni.campaigns.audience import count_audience, count_recipients, programmes_known
from alumni.campaigns.content import CampaignSnapshot, campaign_email, sample_recipient
from alumni.extensions import db
from alumni.models import LOCAL_TIME, Campaign, CampaignStatus, Role, WaitingReason, reason_label
from alumni.models.purpose import Purpose
from alumni.opens import campaign_opens
from alumni.web.staff import bp
from alumni.web.staff.forms import ActionForm, CampaignForm, ScheduleForm, format_years, parse_years
from alumni.web.staff.session import role_required

PER_PAGE = 20
# While these run, the page shows a progress bar that keeps itself up to date.
MOVING = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED)

officers_only = role_required(Role.OFFICER)


@bp.app_template_global()
def campaign_status_label(status: CampaignStatus) -> str:
    return CampaignStatus(status).label


@bp.get("/campaigns")
@officers_only
def campaigns() -> str:
    page = request.args.get("page", 1, type=int) or 1
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    listing = db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)
    return render_template("staff/campaigns/list.html", listing=listing)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@officers_only
def new_campaign() -> Any:
    form = CampaignForm(programmes=programmes_known())
    if request.form.get("action") != "count" and form.validate_on_submit():
        campaign = service.create_campaign(
            **form.fields_for_service,  # type: ignore[arg-type]
            created_by_id=current_user.id,
            actor=actor_of(current_user.staff),
        )
        db.session.commit()
        flash(_("The draft is saved. Preview it, send yourself a test, then schedule it."))
        return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)
    return _form_page(form, campaign=None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@officers_only
def edit_campaign(campaign_id: int) -> Any:
    campaign = _campaign(campaign_id)
    if campaign.is_renewal:
        flash(_("A renewal's email is the product's own: it cannot be changed."))
        return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)
    if campaign.status is not CampaignStatus.DRAFT:
        flash(_("Only a draft can be changed. Put a scheduled campaign back to draft first."))
        return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)
    form = CampaignForm(programmes=_programmes_with(campaign))
    if request.method == "GET":
        form.purpose.data = campaign.purpose.value
        form.subject.data = campaign.subject
        form.body.data = campaign.body
        form.programme.data = list(campaign.programmes)
        form.graduation_years.data = format_years(list(campaign.graduation_years))
        form.tracking.data = campaign.tracking
    elif request.form.get("action") != "count" and form.validate_on_submit():
        campaign = _campaign(campaign_id, for_update=True)
        return _change(
            campaign,
            lambda: service.update_draft(
                campaign, actor=actor_of(current_user.staff), **form.fields_for_service
            ),
            _("The draft is saved."),
        )
    return _form_page(form, campaign=campaign)


def _form_page(form: CampaignForm, campaign: Campaign | None) -> tuple[str, int]:
    """The form again, with the audience it describes now (the "count" button lands here)."""
    audience = None
    if form.purpose.data in set(Purpose) and not form.graduation_years.errors:
        try:
            years = parse_years(form.graduation_years.data or "")
        except ValueError:
            years = None
        if years is not None:
            audience = count_audience(
                Purpose(form.purpose.data), list(form.programme.data or []), years
            )
    status = 400 if form.errors else 200
    return render_template(
        "staff/campaigns/form.html", form=form, campaign=campaign, audience=audience
    ), status


@bp.get("/campaigns/audience")
@officers_only
def audience_count() -> Response:
    """The live count next to the form: how many consent now, within the filters."""
    try:
        purpose = Purpose(request.args.get("purpose", ""))
        years = parse_years(request.args.get("graduation_years", ""))
    except ValueError:
        return jsonify(count=None, text="")
    number = count_audience(purpose, request.args.getlist("programme"), years)
    return jsonify(count=number, text=audience_sentence(number))


def audience_sentence(number: int) -> str:
    return ngettext(
        "%(num)d alumnus consents to this now.", "%(num)d alumni consent to this now.", number
    )


@bp.get("/campaigns/<int:campaign_id>")
@officers_only
def campaign(campaign_id: int) -> str:
    campaign = _campaign(campaign_id)
    schedule_form = ScheduleForm()
    return render_template(
        "staff/campaigns/detail.html",
        campaign=campaign,
        progress=_progress(campaign),
        audience=count_recipients(campaign),
        schedule_form=schedule_form,
        action_form=ActionForm(),
        send_at_local=_local(campaign.send_at),
        opens=campaign_opens(campaign) if campaign.status is not CampaignStatus.DRAFT else None,
    )


@bp.get("/campaigns/<int:campaign_id>/progress")
@officers_only
def campaign_progress(campaign_id: int) -> Response:
    """What the progress bar polls while a campaign is scheduled or sending."""
    return jsonify(_progress(_campaign(campaign_id)))


def _progress(campaign: Campaign) -> dict[str, Any]:
    """Counts so far, as the page shows them and as its script polls them."""
    counts = service.counts(campaign)
    total = counts.handled + counts.in_flight + counts.remaining
    percent = round(counts.progress * 100)
    text = _(
        "%(handled)d of %(total)d handled (%(percent)d%%).",
        handled=counts.handled,
        total=total,
        percent=percent,
    )
    if campaign.waiting_reason:
        text += " " + WaitingReason(campaign.waiting_reason).label
    return {
        "status": str(campaign.status),
        "status_label": campaign_status_label(campaign.status),
        "moving": campaign.status in MOVING,
        "handled": counts.handled,
        "total": total,
        "percent": percent,
        "text": text,
        "sent": counts.sent,
        "failed": counts.failed,
        "skipped": sum(counts.skipped.values()),
        "reasons": [
            {"label": reason_label(reason), "count": number}
            for reason, number in counts.skipped.items()
        ],
    }


@bp.get("/campaigns/<int:campaign_id>/preview")
@officers_only
def preview(campaign_id: int) -> Any:
    """The email exactly as a recipient gets it, in the language asked for."""
    campaign = _campaign(campaign_id)
    if campaign.is_renewal:
        return _no_sample(campaign)
    locale = _language(request.args.get("lang"))
    email = _sample_email(campaign, current_user.email, locale)
    response = render_template(
        "staff/campaigns/preview.html", campaign=campaign, email=email, locale=locale
    )
    return (
        response,
        200,
        {
            # The mail's HTML carries inline styles (css-inline): allowed in its sandboxed frame.
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'"
        },
    )


@bp.post("/campaigns/<int:campaign_id>/test")
@officers_only
def test_send(campaign_id: int) -> Response:
    """A test to the staff member's own address; its links lead nowhere personal."""
    campaign = _campaign(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if campaign.is_renewal:
        return _no_sample(campaign)
    locale = _language(request.form.get("lang"))
    email = _sample_email(campaign, current_user.email, locale)
    with force_locale(locale):
        email = replace(email, subject=_("[Test] %(subject)s", subject=email.subject))
    try:
        mail.send(email)
    except mail.MailError:
        flash(_("The test could not be sent: the mail server did not accept it. Try again later."))
        return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)
    audit.record("campaign.test_sent", actor=actor_of(current_user.staff), campaign=campaign.id)
    db.session.commit()
    flash(_("A test is on its way to %(address)s.", address=current_user.email))
    return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)


def _language(asked: str | None) -> str:
    return asked if asked in current_app.config["LANGUAGES"] else "nl"


def _no_sample(campaign: Campaign) -> Response:
    """A renewal's email is made per person from their choices: there is no sample of it."""
    flash(_("A renewal's email is made for each person from their own choices: it has no preview."))
    return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)


def _sample_email(campaign: Campaign, address: str, locale: str) -> mail.Email:
    content = CampaignSnapshot.of(campaign)
    return campaign_email(content, sample_recipient(address, locale), content.body_html)


@bp.post("/campaigns/<int:campaign_id>/schedule")
@officers_only
def schedule(campaign_id: int) -> Response:
    form = ScheduleForm()
    campaign = _campaign(campaign_id, for_update=True)
    if not form.validate_on_submit():
        db.session.rollback()
        flash(_("That is not a date and time. Choose one with the date picker."), "error")
        return redirect(url_for("staff.campaign", campaign_id=campaign_id), code=303)
    now = request.form.get("action") == "now"
    if not now and form.send_at.data is None:
        db.session.rollback()
        flash(_("Choose when to send it, or press “Send now”."), "error")
        return redirect(url_for("staff.campaign", campaign_id=campaign_id), code=303)
    send_at = None if now else form.send_at.data.replace(tzinfo=LOCAL_TIME)
    done = _("It is being sent now.") if now else _("The campaign is scheduled.")
    return _change(
        campaign,
        lambda: service.schedule(campaign, send_at, actor=actor_of(current_user.staff)),
        done,
    )


@bp.post("/campaigns/<int:campaign_id>/unschedule")
@officers_only
def unschedule(campaign_id: int) -> Response:
    return _button(campaign_id, service.unschedule, _("The campaign is a draft again."))


@bp.post("/campaigns/<int:campaign_id>/pause")
@officers_only
def pause(campaign_id: int) -> Response:
    return _button(
        campaign_id, service.pause, _("The campaign is paused: nobody else gets it for now.")
    )


@bp.post("/campaigns/<int:campaign_id>/resume")
@officers_only
def resume(campaign_id: int) -> Response:
    return _button(campaign_id, service.resume, _("The campaign goes on."))


@bp.post("/campaigns/<int:campaign_id>/cancel")
@officers_only
def cancel(campaign_id: int) -> Response:
    return _button(campaign_id, service.cancel, _("The campaign is cancelled."))


def _button(campaign_id: int, change: Callable[..., None], done: str) -> Response:
    """A state change from a button: the CSRF token checked, the campaign locked."""
    if not ActionForm().validate_on_submit():
        abort(400)
    campaign = _campaign(campaign_id, for_update=True)
    return _change(campaign, lambda: change(campaign, actor=actor_of(current_user.staff)), done)


def _change(campaign: Campaign, change: Callable[[], None], done: str) -> Response:
    """Apply a change of the service; a campaign that moved on meanwhile is said, not a 500."""
    try:
        change()
    except service.InvalidCampaign:
        db.session.rollback()
        flash(_("That time has passed. Choose a time from now on."), "error")
    except service.CampaignError:
        db.session.rollback()
        flash(
            _(
                "That cannot be done any more: the campaign is now “%(status)s”.",
                status=campaign_status_label(_campaign(campaign.id).status),
            ),
            "error",
        )
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("staff.campaign", campaign_id=campaign.id), code=303)


def _campaign(campaign_id: int, *, for_update: bool = False) -> Campaign:
    campaign = service.find_campaign(campaign_id, for_update=for_update)
    if campaign is None:
        abort(404)
    return campaign


def _programmes_with(campaign: Campaign) -> list[str]:
    """The programmes to choose from, and those a draft names though nobody has them now."""
    return sorted(set(programmes_known()) | set(campaign.programmes))


def _local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(LOCAL_TIME)
