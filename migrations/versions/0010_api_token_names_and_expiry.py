"""API tokens get a name and an expiry; tokens made before this expire 90 days after it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:30:00

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Tokens that exist get the default lifetime from the upgrade on, not from their creation:
# a script that runs today keeps working while its owner makes it a named token.
GRACE = timedelta(days=90)


def upgrade():
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
    expires = (datetime.now(timezone.utc) + GRACE).replace(tzinfo=None)
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("expires_at", sa.DateTime()),
    )
    op.execute(
        tokens.update().values(
            name="token " + sa.cast(tokens.c.id, sa.String()), expires_at=expires
        )
    )
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=100), nullable=False)
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("name")
