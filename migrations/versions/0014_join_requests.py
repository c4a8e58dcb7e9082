"""join requests: what a graduate who got no email typed at /join, until it is matched and
confirmed, or an officer rejects it (kept at most 30 days)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "unmatched",
                "linked",
                name="join_request_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("student_number", sa.String(length=32), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("student_key", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("alumnus_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alumnus_id"],
            ["alumni.id"],
            name=op.f("fk_join_requests_alumnus_id_alumni"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_requests")),
    )
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.create_index(batch_op.f("ix_join_requests_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_join_requests_student_key"), ["student_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_join_requests_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_join_requests_alumnus_id"), ["alumnus_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("join_requests") as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_requests_alumnus_id"))
        batch_op.drop_index(batch_op.f("ix_join_requests_email"))
        batch_op.drop_index(batch_op.f("ix_join_requests_student_key"))
        batch_op.drop_index(batch_op.f("ix_join_requests_status"))
    op.drop_table("join_requests")
