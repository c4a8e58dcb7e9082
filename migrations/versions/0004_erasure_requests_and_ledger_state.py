"""erasure requests, and the ledger position the database has applied

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:59:17

"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING = sa.text("done_at IS NULL")


def upgrade():
    state = op.create_table('erasure_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ledger_applied_through', sa.BigInteger(), nullable=False),
    sa.Column('replay_lease_until', sa.DateTime(), nullable=True),
    sa.Column('replayed_at', sa.DateTime(), nullable=True),
    sa.Column('retention_ran_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_state'))
    )
    # Nothing applied yet: a ledger written before this revision is replayed at the first tick.
    op.bulk_insert(state, [{"id": 1, "ledger_applied_through": 0}])
    op.create_table('erasure_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alumnus_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Enum('withdrawn', 'erased', 'hard_bounce', name='erasure_reason', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('channel', sa.Enum('optin_form', 'preferences', 'one_click', 'unsubscribe_page', 'staff', 'erasure', name='erasure_channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alumnus_id'], ['alumni.id'], name=op.f('fk_erasure_requests_alumnus_id_alumni'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests'))
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_requests_alumnus_id'), ['alumnus_id'], unique=False)
        batch_op.create_index('ix_erasure_requests_pending', ['requested_at'], unique=False, postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade():
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_erasure_requests_pending', postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.drop_index(batch_op.f('ix_erasure_requests_alumnus_id'))
    op.drop_table('erasure_requests')
    op.drop_table('erasure_state')
