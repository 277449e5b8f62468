"""The repository reads what it stored: each archived document keeps the version id its upload
returned (the store is read by that version, never by the key alone), and a problem the
service noticed with the stored object (missing, altered, shadowed by a newer version, hidden
by a delete marker) until the worker or ``tokhai repository verify --repair`` repairs it.

Documents archived before this revision have no version id: ``tokhai repository verify`` pins
each to the version that holds its issued bytes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_PROBLEM = "store_problem IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("dossier_documents") as batch:
        # S3 version ids are opaque strings of at most 1024 bytes
        batch.add_column(sa.Column("store_version_id", sa.String(1024)))
        batch.add_column(sa.Column("store_problem", sa.String(16)))
        batch.add_column(sa.Column("store_problem_at", _TS))
        batch.add_column(sa.Column("store_problem_detail", sa.String(300)))
    op.create_index("ix_dossier_documents_store_problem", "dossier_documents", ["id"],
                    sqlite_where=sa.text(_PROBLEM), postgresql_where=sa.text(_PROBLEM))


def downgrade() -> None:
    op.drop_index("ix_dossier_documents_store_problem", table_name="dossier_documents")
    with op.batch_alter_table("dossier_documents") as batch:
        batch.drop_column("store_problem_detail")
        batch.drop_column("store_problem_at")
        batch.drop_column("store_problem")
        batch.drop_column("store_version_id")
