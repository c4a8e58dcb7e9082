"""delivery claim groups: the claims a sender took together, so that a dead sender's are resolved

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("claim_group", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("claim_group")
