"""partial covering indexes for campaign audiences

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:10:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MAILABLE = sa.text("status = 'responded' AND paused_at IS NULL")


def upgrade():
    for name, columns in (
        ("ix_alumni_audience_year", ["graduation_year", "id"]),
        ("ix_alumni_audience_programme", ["programme", "id"]),
    ):
        op.create_index(
            name, "alumni", columns, postgresql_where=MAILABLE, sqlite_where=MAILABLE
        )


def downgrade():
    op.drop_index("ix_alumni_audience_programme", table_name="alumni")
    op.drop_index("ix_alumni_audience_year", table_name="alumni")
