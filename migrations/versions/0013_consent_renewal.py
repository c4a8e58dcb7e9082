"""consent renewal: the evidence channels "renewal" (a person kept their choices when asked
again) and "lapsed" (they did not answer in time)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:20:00

Enums are stored as checked strings: the CHECK constraint of each channel column is made anew
with the longer list of values.
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
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


def upgrade():
    _change(OLD_CHANNELS, NEW_CHANNELS)


def downgrade():
    _change(NEW_CHANNELS, OLD_CHANNELS)
