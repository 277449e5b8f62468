"""The officers' queue finds a dossier by its citizen's name (issue #15): the declarant's name
as filed and its search key without accents or case, indexed per agency. The default queue (an
agency's open dossiers by deadline) gets a partial index read in order, and the auditors'
access log an index by agency. The queue's counts per state are kept in dossier_counts
(filled here from the dossiers already filed).

Dossiers filed before this migration have no name (they are found by code or personal ID).

Revision ID: 0012_office_queue
Revises: 0011_staff_roles
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_office_queue"
down_revision = "0011_staff_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("citizen_name", sa.String(200)))
        batch.add_column(sa.Column("citizen_name_key", sa.String(200)))
    op.create_index("ix_dossiers_agency_name", "dossiers", ["agency_code", "citizen_name_key"],
                    postgresql_ops={"citizen_name_key": "varchar_pattern_ops"})
    # written out, not imported: a migration stays as it was when it ran
    open_states = sa.text(
        "status IN ('submitted', 'accepted', 'supplement_requested', 'in_processing')")
    op.create_index("ix_dossiers_open_queue", "dossiers", ["agency_code", "due_at", "id"],
                    postgresql_where=open_states, sqlite_where=open_states)
    op.create_index("ix_access_log_agency", "access_log", ["agency_code", "id"])
    op.create_table(
        "dossier_counts",
        sa.Column("agency_code", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(24), primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO dossier_counts (agency_code, status, total) "
               "SELECT agency_code, status, count(*) FROM dossiers GROUP BY agency_code, status")


def downgrade() -> None:
    op.drop_table("dossier_counts")
    op.drop_index("ix_access_log_agency", table_name="access_log")
    op.drop_index("ix_dossiers_open_queue", table_name="dossiers")
    op.drop_index("ix_dossiers_agency_name", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("citizen_name_key")
        batch.drop_column("citizen_name")
