"""Digitised documents scoped to the uploading agency, named by a random public id; the
append-only trail of record changes.

Documents already stored get a random public id, and the agency of their uploader when the
uploader's token label belongs to officers of exactly one agency; otherwise the agency stays
NULL and no officer can see or confirm the document (it must be uploaded again).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_APPEND_ONLY = "record_changes is append-only"
# the officers whose actor name ("officer:<label>", see service.tokens) is the uploader's
_UPLOADERS = ("FROM api_tokens t WHERE t.role = 'officer' "
              "AND 'officer:' || t.label = digitised_documents.uploaded_by")


def upgrade() -> None:
    with op.batch_alter_table("digitised_documents") as batch:
        batch.add_column(sa.Column("public_id", sa.String(36)))
        batch.add_column(sa.Column("agency_code", sa.String(40)))
    documents = sa.table("digitised_documents", sa.column("id", sa.Integer),
                         sa.column("public_id", sa.String))
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.select(documents.c.id)).all():
        conn.execute(documents.update().where(documents.c.id == row_id)
                     .values(public_id=str(uuid.uuid4())))
    op.execute(f"UPDATE digitised_documents SET agency_code = (SELECT MIN(t.agency_code) "
               f"{_UPLOADERS}) WHERE (SELECT COUNT(DISTINCT t.agency_code) {_UPLOADERS}) = 1")
    with op.batch_alter_table("digitised_documents") as batch:
        batch.alter_column("public_id", existing_type=sa.String(36), nullable=False)
    op.create_index("uq_digitised_documents_public_id", "digitised_documents", ["public_id"],
                    unique=True)
    op.create_table(
        "record_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("register", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(13), nullable=False),
        sa.Column("provenance", sa.String(200), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON, nullable=False),
        sa.Column("corrections", sa.JSON),
    )
    op.create_index("ix_record_changes_at", "record_changes", ["at"])
    op.create_index("ix_record_changes_document_id", "record_changes", ["document_id"])
    op.create_index("ix_record_changes_register_subject", "record_changes",
                    ["register", "subject"])
    # the trail is append-only for everyone using the database, not only for this code
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION record_changes_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER record_changes_append_only BEFORE UPDATE OR DELETE ON record_changes
            FOR EACH ROW EXECUTE FUNCTION record_changes_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER record_changes_no_{event.lower()} BEFORE {event}
                ON record_changes BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER record_changes_append_only ON record_changes")
        op.execute("DROP FUNCTION record_changes_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER record_changes_no_{event}")
    op.drop_index("ix_record_changes_register_subject", table_name="record_changes")
    op.drop_index("ix_record_changes_document_id", table_name="record_changes")
    op.drop_index("ix_record_changes_at", table_name="record_changes")
    op.drop_table("record_changes")
    op.drop_index("uq_digitised_documents_public_id", table_name="digitised_documents")
    with op.batch_alter_table("digitised_documents") as batch:
        batch.drop_column("agency_code")
        batch.drop_column("public_id")
