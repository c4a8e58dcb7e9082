"""consent renewal: campaigns of kind "renewal" (no purpose, one per reason, a reminder
pointing to its renewal), and the evidence channels "renewal" (a person kept their choices when
asked again) and "lapsed" (they did not answer in time)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:20:00

Enums are stored as checked strings: the CHECK constraint of each channel column is made anew
with the longer list of values.
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OLD_CHANNELS = ("optin_form", "preferences", "one_click", "unsubscribe_page", "staff", "erasure")
NEW_CHANNELS = (*OLD_CHANNELS, "renewal", "lapsed")
COLUMNS = (("consent_evidence", "evidence_channel"), ("erasure_requests", "erasure_channel"))


def _channel(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _change(values_from, values_to):
    for table, name in COLUMNS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(
                "channel",
                existing_type=_channel(values_from, name),
                type_=_channel(values_to, name),
                existing_nullable=False,
            )


PURPOSES = ("courses", "vacancies", "events", "research", "surveys")


def upgrade():
    _change(OLD_CHANNELS, NEW_CHANNELS)
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "purpose",
                    "renewal",
                    name="campaign_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=24,
                ),
                nullable=False,
                server_default="purpose",
            )
        )
        batch_op.add_column(sa.Column("renewal_key", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("reminds_id", sa.Integer(), nullable=True))
        batch_op.alter_column(
            "purpose", existing_type=_purpose(), existing_nullable=False, nullable=True
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_campaigns_renewal_key"), ["renewal_key"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_reminds_id_campaigns"),
            "campaigns",
            ["reminds_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.alter_column("kind", server_default=None)


def downgrade():
    op.execute("DELETE FROM campaigns WHERE kind = 'renewal'")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_campaigns_reminds_id_campaigns"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_campaigns_renewal_key"), type_="unique")
        batch_op.alter_column(
            "purpose", existing_type=_purpose(), existing_nullable=True, nullable=False
        )
        batch_op.drop_column("reminds_id")
        batch_op.drop_column("renewal_key")
        batch_op.drop_constraint(batch_op.f("ck_campaigns_campaign_kind"), type_="check")
        batch_op.drop_column("kind")
    _change(NEW_CHANNELS, OLD_CHANNELS)


def _purpose():
    return sa.Enum(
        *PURPOSES, name="campaign_purpose", native_enum=False, create_constraint=True, length=24
    )
