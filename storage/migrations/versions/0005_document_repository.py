"""The citizen document repository: archiving state (the outbox), retention, consents and the
append-only access log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_PENDING = "stored_at IS NULL"
_APPEND_ONLY = "access_log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("dossier_documents") as batch:
        batch.add_column(sa.Column("size", sa.Integer))
        batch.add_column(sa.Column("procedure_code", sa.String(40)))
        batch.add_column(sa.Column("document_class", sa.String(32)))
        batch.add_column(sa.Column("file_name", sa.String(200)))
        batch.add_column(sa.Column("data", sa.JSON))
        batch.add_column(sa.Column("storage_key", sa.String(80)))
        batch.add_column(sa.Column("stored_at", _TS))
        batch.add_column(sa.Column("archive_attempts", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("archive_error", sa.Text))
        batch.add_column(sa.Column("retain_until", _TS))
        batch.add_column(sa.Column("legal_hold", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    op.execute("UPDATE dossier_documents SET size = length(content)")
    op.create_index("ix_dossier_documents_owner_signed", "dossier_documents",
                    ["owner_id", "signed_at"])
    op.create_index("ix_dossier_documents_pending", "dossier_documents", ["id"],
                    sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING))
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.String(13), nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("purpose_kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("document_id", sa.String(36)),
        sa.Column("granted_by", sa.String(120), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_index("ix_consents_owner_id", "consents", ["owner_id"])
    op.create_index("ix_consents_agency_owner", "consents", ["agency_code", "owner_id"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("purpose", sa.String(80)),
        sa.Column("document_id", sa.String(64)),
        sa.Column("owner_id", sa.String(13)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200)),
    )
    op.create_index("ix_access_log_document_id", "access_log", ["document_id"])
    op.create_index("ix_access_log_at", "access_log", ["at"])
    # the log is append-only for everyone using the database, not only for this code
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION access_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
            FOR EACH ROW EXECUTE FUNCTION access_log_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER access_log_no_{event.lower()} BEFORE {event} ON access_log
                BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_log_append_only ON access_log")
        op.execute("DROP FUNCTION access_log_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER access_log_no_{event}")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_index("ix_access_log_document_id", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_consents_agency_owner", table_name="consents")
    op.drop_index("ix_consents_owner_id", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_dossier_documents_pending", table_name="dossier_documents")
    op.drop_index("ix_dossier_documents_owner_signed", table_name="dossier_documents")
    with op.batch_alter_table("dossier_documents") as batch:
        for column in ("legal_hold", "retain_until", "archive_error", "archive_attempts",
                       "stored_at", "storage_key", "data", "file_name", "document_class",
                       "procedure_code", "size"):
            batch.drop_column(column)
