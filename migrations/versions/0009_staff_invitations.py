"""staff sessions and account lifecycle: an invitation waits on the account

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 05:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(sa.Column("invited_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("invited_at")
