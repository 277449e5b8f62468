"""Lateness as the law counts it, and an event feed a portal can use (issue #13).

Dossiers keep their procedure's name and channel, when they began waiting for the citizen (and
the status they return to), the first promised date they missed, and the first deadline they
missed (``late_at``, ``late_stage``: the monthly report's month). Events keep the procedure,
the channel, the submission time and the deadlines as the event left them.

Existing rows: the procedure's name comes from the form version filed; a dossier waiting for a
supplement waits since its last change, and returns to the status its last supplement request
came from; a dossier that already ended a stage after its deadline has that deadline recorded
as missed (a deadline still running is found by the queries as before). Events logged before
get the dossier's procedure, channel and submission time; their deadlines of the time are not
known and stay empty.

Revision ID: 0009_dossier_lateness
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_dossier_lateness"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_OF_DOSSIER = "(SELECT d.{0} FROM dossiers d WHERE d.id = dossier_events.dossier_id)"


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("procedure_name", sa.String(300)))
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False,
                                   server_default="online"))
        batch.add_column(sa.Column("broken_promise_at", _TS))
        batch.add_column(sa.Column("paused_at", _TS))
        batch.add_column(sa.Column("paused_from", sa.String(24)))
        batch.add_column(sa.Column("late_at", _TS))
        batch.add_column(sa.Column("late_stage", sa.String(16)))
    with op.batch_alter_table("dossier_events") as batch:
        batch.add_column(sa.Column("procedure_code", sa.String(40)))
        batch.add_column(sa.Column("procedure_name", sa.String(300)))
        batch.add_column(sa.Column("channel", sa.String(16)))
        batch.add_column(sa.Column("submitted_at", _TS))
        batch.add_column(sa.Column("accept_by", _TS))
        batch.add_column(sa.Column("process_by", _TS))
        batch.add_column(sa.Column("promised_at", _TS))

    conn = op.get_bind()
    versions = sa.table("form_versions", sa.column("form_id", sa.String),
                        sa.column("version", sa.Integer), sa.column("definition", sa.JSON))
    dossiers = sa.table("dossiers", sa.column("form_id", sa.String),
                        sa.column("form_version", sa.Integer),
                        sa.column("procedure_name", sa.String))
    for form_id, version, definition in conn.execute(sa.select(
            versions.c.form_id, versions.c.version, versions.c.definition)).all():
        definition = definition if isinstance(definition, dict) else {}
        name = definition.get("procedure_name") or definition.get("title")
        if isinstance(name, str) and name:
            conn.execute(dossiers.update().where(
                dossiers.c.form_id == form_id, dossiers.c.form_version == version,
            ).values(procedure_name=name[:300]))

    op.execute(
        "UPDATE dossiers SET paused_at = updated_at, paused_from = COALESCE(("
        "SELECT e.from_status FROM dossier_events e WHERE e.dossier_id = dossiers.id "
        "AND e.action = 'request_supplement' ORDER BY e.position DESC LIMIT 1), 'submitted') "
        "WHERE status = 'supplement_requested'")
    op.execute(
        "UPDATE dossiers SET late_at = accept_deadline, late_stage = 'acceptance' "
        "WHERE late_at IS NULL AND COALESCE(accepted_at, finished_at) > accept_deadline")
    op.execute(
        "UPDATE dossiers SET late_at = process_deadline, late_stage = 'processing' "
        "WHERE late_at IS NULL AND process_deadline IS NOT NULL "
        "AND finished_at > process_deadline")
    op.execute(
        "UPDATE dossier_events SET "
        + ", ".join(f"{column} = {_OF_DOSSIER.format(source)}" for column, source in (
            ("procedure_code", "procedure_code"), ("procedure_name", "procedure_name"),
            ("channel", "channel"), ("submitted_at", "submitted_at"))))


def downgrade() -> None:
    with op.batch_alter_table("dossier_events") as batch:
        for column in ("promised_at", "process_by", "accept_by", "submitted_at", "channel",
                       "procedure_name", "procedure_code"):
            batch.drop_column(column)
    with op.batch_alter_table("dossiers") as batch:
        for column in ("late_stage", "late_at", "paused_from", "paused_at",
                       "broken_promise_at", "channel", "procedure_name"):
            batch.drop_column(column)
