"""Records of the embedded registers, family and household links, digitised documents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("register", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(13), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("provenance", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("register", "subject", name="uq_records_register_subject"),
    )
    op.create_index("ix_records_subject", "records", ["subject"])
    op.create_table(
        "person_links",
        sa.Column("subject", sa.String(12), primary_key=True),
        sa.Column("relation", sa.String(24), primary_key=True),
        sa.Column("other", sa.String(12), primary_key=True),
    )
    op.create_index("ix_person_links_other", "person_links", ["other"])
    op.create_table(
        "digitised_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("register", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(13)),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("uploaded_by", sa.String(120), nullable=False),
        sa.Column("confirmed_by", sa.String(120)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("digitised_documents")
    op.drop_index("ix_person_links_other", table_name="person_links")
    op.drop_table("person_links")
    op.drop_index("ix_records_subject", table_name="records")
    op.drop_table("records")
