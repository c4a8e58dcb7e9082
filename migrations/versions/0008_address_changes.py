"""address changes: a new address waits for its confirmation, the old one may undo it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "address_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=False),
        sa.Column("old_email", sa.String(length=254), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alumnus_id"],
            ["alumni.id"],
            name=op.f("fk_address_changes_alumnus_id_alumni"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_changes")),
    )
    with op.batch_alter_table("address_changes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_address_changes_alumnus_id"), ["alumnus_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("address_changes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_address_changes_alumnus_id"))
    op.drop_table("address_changes")
