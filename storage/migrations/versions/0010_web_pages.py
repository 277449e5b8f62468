"""The web pages (issue #14): browser sessions, the "use my data" choice, drafts, disputes of
prefilled values, citizens' contacts, the e-mail outbox, data kept across an expired session,
files uploaded for attachment fields, and an index of the access log by owner (the citizen's
"who accessed my documents").

Revision ID: 0010_web_pages
Revises: 0009_dossier_lateness
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_web_pages"
down_revision = "0009_dossier_lateness"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("prefill_choice", sa.String(8)))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sid_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("personal_id", sa.String(12)),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("email", sa.String(254)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("ended_at", _TS),
    )
    op.create_table(
        "prefill_choices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("citizen_id", sa.String(12), nullable=False),
        sa.Column("form_id", sa.String(80), nullable=False),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("choice", sa.String(8), nullable=False),
        sa.Column("chosen_at", _TS, nullable=False),
        sa.UniqueConstraint("citizen_id", "form_id", "form_version", name="uq_prefill_choices"),
    )
    op.create_table(
        "form_drafts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("citizen_id", sa.String(12), nullable=False, index=True),
        sa.Column("form_id", sa.String(80), nullable=False),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("agency_code", sa.String(40)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("citizen_id", "form_id", "form_version", name="uq_form_drafts"),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("citizen_id", sa.String(12), nullable=False, index=True),
        sa.Column("form_id", sa.String(80), nullable=False),
        sa.Column("form_version", sa.Integer, nullable=False),
        sa.Column("dossier_id", sa.Integer, sa.ForeignKey("dossiers.id"), index=True),
        sa.Column("pointer", sa.String(300), nullable=False),
        sa.Column("register", sa.String(40), nullable=False),
        sa.Column("record_key", sa.String(120)),
        sa.Column("shown_value", sa.Text),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    )
    op.create_index("ix_disputes_register_key", "disputes", ["register", "record_key"])
    op.create_table(
        "contacts",
        sa.Column("personal_id", sa.String(12), primary_key=True),
        sa.Column("email", sa.String(254)),
        sa.Column("notify", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("personal_id", sa.String(12), nullable=False),
        sa.Column("dossier_id", sa.Integer, sa.ForeignKey("dossiers.id")),
        sa.Column("event_position", sa.Integer, unique=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("sent_at", _TS),
        sa.Column("failed_at", _TS),
        sa.Column("last_error", sa.String(300)),
    )
    op.create_index("ix_notifications_pending", "notifications", ["sent_at", "next_attempt_at"])
    # the citizen's "who accessed my documents" reads the access log by owner
    op.create_index("ix_access_log_owner", "access_log", ["owner_id", "id"])
    op.create_table(
        "page_stash",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    # files citizens upload for attachment fields where nothing digital exists
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.String(36), nullable=False, unique=True),
        sa.Column("owner_id", sa.String(12), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_uploads_owner_id", "uploads", ["owner_id"])


def downgrade() -> None:
    op.drop_table("uploads")
    op.drop_index("ix_access_log_owner", table_name="access_log")
    for table in ("page_stash", "notifications", "contacts", "disputes", "form_drafts",
                  "prefill_choices", "web_sessions"):
        op.drop_table(table)
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("prefill_choice")
