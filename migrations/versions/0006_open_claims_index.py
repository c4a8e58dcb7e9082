"""partial index of open delivery claims, for the scheduler's tick

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:45:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'claimed'")


def upgrade():
    op.create_index(
        "ix_deliveries_open_claims",
        "deliveries",
        ["created_at"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade():
    op.drop_index("ix_deliveries_open_claims", table_name="deliveries")
