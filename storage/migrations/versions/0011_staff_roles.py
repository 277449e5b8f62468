"""Staff roles from sign-in (issue #15): which identity-provider subjects are officers,
designers or auditors, and of which agency; managed with ``tokhai staff``.

Revision ID: 0011_staff_roles
Revises: 0010_web_pages
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_staff_roles"
down_revision = "0010_web_pages"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_roles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("name", sa.String(200)),
        sa.Column("granted_by", sa.String(120), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
        sa.UniqueConstraint("issuer", "subject", name="uq_staff_roles_subject"),
    )


def downgrade() -> None:
    op.drop_table("staff_roles")
