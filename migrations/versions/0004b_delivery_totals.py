"""delivery totals: old deliveries counted per campaign, status and reason

Revision ID: 0004b
Revises: 0004
Create Date: 2026-12-01 09:05:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0004b'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery_totals',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('claimed', 'sent', 'skipped', 'failed', name='delivery_total_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_delivery_totals_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'status', 'reason', name=op.f('pk_delivery_totals'))
    )


def downgrade():
    op.drop_table('delivery_totals')
