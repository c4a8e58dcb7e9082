"""The endpoints: each reads its input, makes one service call, commits, and answers JSON."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Response, jsonify, request, url_for

from alumni.campaigns import service
from alumni.campaigns.audience import count_audience
from alumni.extensions import db
from alumni.models import Campaign
from alumni.web.api import bp, inputs, openapi
from alumni.web.api.auth import CAMPAIGN_ROLES, actor, allow, current_staff, public
from alumni.web.api.errors import ApiError
from alumni.web.api.outputs import campaign_json

# After the token's check (auth.authenticate): a caller without a token learns nothing more.
bp.before_request(inputs.require_json_body)


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    return jsonify(openapi.document())


@bp.post("/campaigns")
@allow(*CAMPAIGN_ROLES)
def create_campaign() -> tuple[Response, int, dict[str, str]]:
    new = inputs.new_campaign(inputs.json_object())
    campaign = service.create_campaign(
        purpose=new.purpose,
        subject=new.subject,
        body=new.body,
        programmes=new.programmes,
        graduation_years=new.graduation_years,
        tracking=new.tracking,
        created_by_id=current_staff().id,
        actor=actor(),
    )
    if new.send_at is not None:
        service.schedule(campaign, new.send_at, actor=actor())
    db.session.commit()
    location = url_for(".get_campaign", campaign_id=campaign.id)
    return jsonify(campaign_json(campaign)), 201, {"Location": location}


@bp.get("/campaigns")
@allow(*CAMPAIGN_ROLES)
def list_campaigns() -> Response:
    page = inputs.page_number(request.args)
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    result = db.paginate(query, page=page, per_page=inputs.PAGE_SIZE, error_out=False)
    return jsonify(
        campaigns=[campaign_json(campaign) for campaign in result.items],
        page=page,
        per_page=inputs.PAGE_SIZE,
        pages=result.pages,
        total=result.total,
    )


@bp.get("/campaigns/<int:campaign_id>")
@allow(*CAMPAIGN_ROLES)
def get_campaign(campaign_id: int) -> Response:
    return jsonify(campaign_json(_campaign(campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/schedule")
@allow(*CAMPAIGN_ROLES)
def schedule(campaign_id: int) -> Response:
    send_at = inputs.schedule_time(inputs.json_object(empty_allowed=True))
    return _change(campaign_id, lambda campaign: service.schedule(campaign, send_at, actor=actor()))


@bp.post("/campaigns/<int:campaign_id>/pause")
@allow(*CAMPAIGN_ROLES)
def pause(campaign_id: int) -> Response:
    return _change(campaign_id, lambda campaign: service.pause(campaign, actor=actor()))


@bp.post("/campaigns/<int:campaign_id>/resume")
@allow(*CAMPAIGN_ROLES)
def resume(campaign_id: int) -> Response:
    return _change(campaign_id, lambda campaign: service.resume(campaign, actor=actor()))


@bp.post("/campaigns/<int:campaign_id>/cancel")
@allow(*CAMPAIGN_ROLES)
def cancel(campaign_id: int) -> Response:
    return _change(campaign_id, lambda campaign: service.cancel(campaign, actor=actor()))


@bp.get("/audience")
@allow(*CAMPAIGN_ROLES)
def audience() -> Response:
    wanted = inputs.audience_filter(request.args)
    return jsonify(count=count_audience(wanted.purpose, wanted.programmes, wanted.graduation_years))


def _campaign(campaign_id: int, *, for_update: bool = False) -> Campaign:
    campaign = None
    if campaign_id <= inputs.MAX_ID:
        campaign = service.find_campaign(campaign_id, for_update=for_update)
    if campaign is None:
        raise ApiError(404, f"there is no campaign {campaign_id}")
    return campaign


def _change(campaign_id: int, change: Callable[[Campaign], None]) -> Response:
    """A state change under the campaign's row lock (``service.find_campaign``)."""
    campaign = _campaign(campaign_id, for_update=True)
    change(campaign)
    db.session.commit()
    return jsonify(campaign_json(campaign))
