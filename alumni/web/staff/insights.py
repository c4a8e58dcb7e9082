"""Staff insights: consent per purpose over time, and how often campaigns were opened.

Numbers only, never a person: open counts are shown for campaigns of at least
``OPENS_MIN_RECIPIENTS`` emails sent (``alumni.opens``). Officers and admins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from alumni import opens
from alumni.consent import statistics
from alumni.core.timeline import Step, Timeline
from alumni.extensions import db
from alumni.models import Campaign, ConsentState, Role
from alumni.opens.report import TOTAL, UNIQUE
from alumni.web.staff import bp
from alumni.web.staff.charts import BarChart, bar_chart
from alumni.web.staff.session import role_required

CAMPAIGNS_PER_PAGE = 20
# How a period is named on the axis and in the table (Unicode date patterns).
PERIOD_PATTERNS = {
    Step.HOUR: "d MMM HH:mm",
    Step.DAY: "d MMM yyyy",
    Step.WEEK: "d MMM yyyy",
    Step.MONTH: "MMM yyyy",
}
DECISIONS = {
    ConsentState.GRANTED.value: _l("Yes"),
    ConsentState.WITHDRAWN.value: _l("No or withdrawn"),
}
OPEN_SERIES = {TOTAL: _l("All opens"), UNIQUE: _l("Emails opened")}
# "Decisions per day", "Opens per hour": how the charts name their periods.
PER_STEP = {
    Step.HOUR: _l("per hour"),
    Step.DAY: _l("per day"),
    Step.WEEK: _l("per week (from Monday)"),
    Step.MONTH: _l("per month"),
}


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    sent: int
    tracked: bool
    opens: opens.Opens | None


def period_label(step: Step) -> Callable[[datetime], str]:
    return lambda start: format_datetime(start, PERIOD_PATTERNS[step])


def chart_of(line: Timeline, names: dict[str, object]) -> BarChart:
    """The timeline as a bar chart; ``names``: series -> its (lazy) legend text."""
    legend = {key: str(label) for key, label in names.items()}
    return bar_chart(line, legend, period_label(line.step))


@bp.get("/insights")
@role_required(Role.OFFICER)
def insights() -> str:
    consent = statistics.consent_over_time()
    consent_charts = (
        {purpose: chart_of(line, DECISIONS) for purpose, line in consent.items()} if consent else {}
    )
    page = request.args.get("page", "1")
    number = int(page) if page.isascii() and page.isdigit() and int(page) >= 1 else 1
    started = (
        sa.select(Campaign)
        .where(Campaign.started_at.is_not(None))
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
    )
    listed = db.paginate(started, page=number, per_page=CAMPAIGNS_PER_PAGE, error_out=False)
    return render_template(
        "staff/insights/dashboard.html",
        consent_charts=consent_charts,
        per_step=consent and PER_STEP[next(iter(consent.values())).step],
        rows=campaign_rows(listed.items),
        pagination=listed,
    )


def campaign_rows(campaigns: list[Campaign]) -> list[CampaignRow]:
    sent = opens.sent_by_campaign([campaign.id for campaign in campaigns])
    found = opens.opens_by_campaign(campaigns)
    return [
        CampaignRow(
            campaign, sent.get(campaign.id, 0), opens.is_tracked(campaign), found[campaign.id]
        )
        for campaign in campaigns
    ]


@bp.get("/insights/campaigns/<int:campaign_id>")
@role_required(Role.OFFICER)
def campaign_insights(campaign_id: int) -> str:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    (row,) = campaign_rows([campaign])
    line = opens.opens_over_time(campaign)
    return render_template(
        "staff/insights/campaign.html",
        row=row,
        chart=line and chart_of(line, OPEN_SERIES),
        per_step=line and PER_STEP[line.step],
    )
