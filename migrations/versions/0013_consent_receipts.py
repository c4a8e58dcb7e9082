"""consent receipts: when one is owed to a person, and when the last one went

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OWED = sa.text("receipt_due_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.add_column(sa.Column("receipt_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("receipt_sent_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_alumni_receipt_due",
        "alumni",
        ["receipt_due_at"],
        unique=False,
        postgresql_where=OWED,
        sqlite_where=OWED,
    )


def downgrade():
    op.drop_index("ix_alumni_receipt_due", table_name="alumni")
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.drop_column("receipt_sent_at")
        batch_op.drop_column("receipt_due_at")
