"""bounces and complaints: bounce records, the undeliverable mark, "complaint" as a reason

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHANNELS = ("optin_form", "preferences", "one_click", "unsubscribe_page", "staff", "erasure")
REASONS = ("withdrawn", "erased", "hard_bounce")

# (table, column, name of the type, values before, values after)
CHECKED = (
    ("consent_evidence", "channel", "evidence_channel", CHANNELS, (*CHANNELS, "complaint")),
    ("erasure_requests", "channel", "erasure_channel", CHANNELS, (*CHANNELS, "complaint")),
    ("erasure_requests", "reason", "erasure_reason", REASONS, (*REASONS, "complaint")),
    ("suppressions", "reason", "suppression_reason", REASONS, (*REASONS, "complaint")),
)


def _enum(name, values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _allow(values_index):
    """The CHECK constraints of four enum columns, with or without "complaint"."""
    for table, column, name, *values in CHECKED:
        allowed = values[values_index]
        constraint = f"ck_{table}_{name}"
        if op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(op.f(constraint), table, type_="check")
            listed = ", ".join(f"'{value}'" for value in allowed)
            op.create_check_constraint(op.f(constraint), table, sa.text(f"{column} IN ({listed})"))
        else:
            # SQLite changes a CHECK constraint only by copying the table (batch mode).
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.alter_column(
                    column,
                    existing_type=_enum(name, values[1 - values_index]),
                    type_=_enum(name, allowed),
                    existing_nullable=False,
                )


def upgrade():
    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("hard", "soft", "complaint", name="bounce_kind", native_enum=False,
                    create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("smtp", "pipe", "mailbox", "ses", "postmark", name="bounce_source",
                    native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alumnus_id"], ["alumni.id"], name=op.f("fk_bounces_alumnus_id_alumni"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_bounces_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_bounces_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounces")),
    )
    with op.batch_alter_table("bounces") as batch_op:
        batch_op.create_index(
            "ix_bounces_alumnus_kind", ["alumnus_id", "kind", "received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bounces_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bounces_received_at"), ["received_at"], unique=False)
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.add_column(sa.Column("undeliverable_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "undeliverable_reason",
                sa.Enum("hard-bounce", "soft-bounces", name="undeliverable_reason",
                        native_enum=False, create_constraint=True, length=24),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("bounces_counted_from", sa.DateTime(), nullable=True))
    _allow(1)


def downgrade():
    complaints = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM consent_evidence WHERE channel = 'complaint'")
    )
    if complaints:
        raise RuntimeError("consent evidence names complaints: it is never rewritten, no downgrade")
    # Still suppressed, still erased: only the word goes.
    op.execute("UPDATE suppressions SET reason = 'withdrawn' WHERE reason = 'complaint'")
    op.execute("UPDATE erasure_requests SET channel = 'staff' WHERE channel = 'complaint'")
    op.execute("UPDATE erasure_requests SET reason = 'withdrawn' WHERE reason = 'complaint'")
    _allow(0)
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.drop_constraint("undeliverable_reason", type_="check")
        batch_op.drop_column("bounces_counted_from")
        batch_op.drop_column("undeliverable_reason")
        batch_op.drop_column("undeliverable_at")
    op.drop_table("bounces")
