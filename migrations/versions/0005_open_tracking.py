"""open tracking: tokens seen, counts per hour, flushes from Redis

Revision ID: 0005
Revises: 0004b
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opened_tokens',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_opened_tokens_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'digest', name=op.f('pk_opened_tokens'))
    )
    op.create_table('open_counts',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(), nullable=False),
    sa.Column('total_opens', sa.Integer(), nullable=False),
    sa.Column('unique_opens', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_open_counts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'hour', name=op.f('pk_open_counts'))
    )
    op.create_table('open_flushes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_flushes'))
    )


def downgrade():
    op.drop_table('open_flushes')
    op.drop_table('open_counts')
    op.drop_table('opened_tokens')
