"""Signed documents: results and letters carry a public id, signer, PAdES level and times.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ONE_RESULT = "kind = 'result'"


def upgrade() -> None:
    with op.batch_alter_table("dossier_documents") as batch:
        batch.add_column(sa.Column("document_id", sa.String(36)))
        batch.add_column(sa.Column("agency_code", sa.String(40)))
        batch.add_column(sa.Column("owner_id", sa.String(13)))
        batch.add_column(sa.Column("template", sa.String(40)))
        batch.add_column(sa.Column("number", sa.String(60)))
        batch.add_column(sa.Column("signer", sa.String(400)))
        batch.add_column(sa.Column("level", sa.String(8)))
        batch.add_column(sa.Column("signed_at", _TS))
        batch.add_column(sa.Column("timestamp_at", _TS))
    documents = sa.table("dossier_documents", sa.column("id", sa.Integer),
                         sa.column("document_id", sa.String))
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.select(documents.c.id)).all():
        conn.execute(documents.update().where(documents.c.id == row_id)
                     .values(document_id=str(uuid.uuid4())))
    with op.batch_alter_table("dossier_documents") as batch:
        batch.alter_column("document_id", existing_type=sa.String(36), nullable=False)
    op.create_index("uq_dossier_documents_document_id", "dossier_documents", ["document_id"],
                    unique=True)
    op.create_index("uq_dossier_documents_one_result", "dossier_documents", ["dossier_id"],
                    unique=True, sqlite_where=sa.text(_ONE_RESULT),
                    postgresql_where=sa.text(_ONE_RESULT))
    op.create_index("ix_dossier_documents_sha256", "dossier_documents", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_dossier_documents_sha256", table_name="dossier_documents")
    op.drop_index("uq_dossier_documents_one_result", table_name="dossier_documents")
    op.drop_index("uq_dossier_documents_document_id", table_name="dossier_documents")
    with op.batch_alter_table("dossier_documents") as batch:
        for column in ("timestamp_at", "signed_at", "level", "signer", "number", "template",
                       "owner_id", "agency_code", "document_id"):
            batch.drop_column(column)
