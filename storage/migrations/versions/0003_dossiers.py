"""Dossiers, their ordered event log, gapless counters, generated documents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(60), nullable=False, unique=True),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("form_id", sa.String(80), nullable=False),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("citizen_id", sa.String(12), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("receipt_secret_hash", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(100)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("processing_days", sa.Integer, nullable=False),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.Column("accept_deadline", _TS, nullable=False),
        sa.Column("accepted_at", _TS),
        sa.Column("process_deadline", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("due_at", _TS),
        sa.Column("late_explanation", sa.Text),
        sa.Column("late_explained_by", sa.String(120)),
        sa.Column("late_explained_at", _TS),
        sa.Column("promised_at", _TS),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("citizen_id", "idempotency_key", name="uq_dossiers_idempotency"),
    )
    op.create_index("ix_dossiers_agency_status_deadline", "dossiers",
                    ["agency_code", "status", "due_at"])
    op.create_index("ix_dossiers_citizen_submitted", "dossiers", ["citizen_id", "submitted_at"])
    op.create_table(
        "dossier_events",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("dossier_id", sa.Integer, sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("dossier_code", sa.String(60), nullable=False),
        sa.Column("agency_code", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_dossier_events_dossier_id", "dossier_events", ["dossier_id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "dossier_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dossier_id", sa.Integer, sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_dossier_documents_dossier_id", "dossier_documents", ["dossier_id"])


def downgrade() -> None:
    op.drop_index("ix_dossier_documents_dossier_id", table_name="dossier_documents")
    op.drop_table("dossier_documents")
    op.drop_table("counters")
    op.drop_index("ix_dossier_events_dossier_id", table_name="dossier_events")
    op.drop_table("dossier_events")
    op.drop_index("ix_dossiers_citizen_submitted", table_name="dossiers")
    op.drop_index("ix_dossiers_agency_status_deadline", table_name="dossiers")
    op.drop_table("dossiers")
