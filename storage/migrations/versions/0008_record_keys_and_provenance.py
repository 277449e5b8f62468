"""Records keyed and traced right: the provenance of each field of a record, the people who
hold a role in a business (owner, legal representative) as indexed rows, and the reason an
officer gives for confirming a digitised document whose printed identity the population
register does not bear out.

Existing records get their fields' provenance from what is known: a field a recorded change
(``record_changes``) set has that change's provenance; the other fields have the record's own
provenance when no change came after its last whole-record write (an import, the demo), and
no known provenance otherwise (the change relabelled the whole record; what was there before
is lost). Existing business records get their owner's and legal representative's rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: kept in step with forms.registers (a migration does not import the code it outlives)
_ROLES = {"business": {"owner": "owner_personal_id",
                       "legal_representative": "legal_representative_personal_id"}}

_records = sa.table("records", sa.column("id", sa.Integer), sa.column("register", sa.String),
                    sa.column("subject", sa.String), sa.column("data", sa.JSON),
                    sa.column("provenance", sa.String), sa.column("updated_at", sa.DateTime),
                    sa.column("field_provenance", sa.JSON))
_changes = sa.table("record_changes", sa.column("register", sa.String),
                    sa.column("subject", sa.String), sa.column("provenance", sa.String),
                    sa.column("after", sa.JSON), sa.column("at", sa.DateTime))
_roles = sa.table("record_roles", sa.column("register", sa.String),
                  sa.column("subject", sa.String), sa.column("role", sa.String),
                  sa.column("personal_id", sa.String))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _utc(moment: datetime | str | None) -> datetime | None:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _traced(data: dict[str, Any], provenance: str, updated_at: datetime | None,
            changes: list[tuple[datetime | None, str, dict[str, Any]]]) -> dict[str, str]:
    """Each field's provenance, from the record and its recorded changes (oldest first)."""
    last_change = max((at for at, _, _ in changes if at is not None), default=None)
    if not changes or (updated_at is not None and last_change is not None
                       and updated_at > last_change):
        return {name: provenance for name in data}  # a whole-record write came last
    out: dict[str, str] = {}
    for _, change_provenance, after in changes:
        for name in after or {}:
            if name in data:
                out[name] = change_provenance
    return out


def upgrade() -> None:
    op.add_column("records", sa.Column("field_provenance", sa.JSON))
    op.create_table(
        "record_roles",
        sa.Column("register", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(13), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("personal_id", sa.String(12), nullable=False),
    )
    op.create_index("ix_record_roles_person", "record_roles", ["personal_id", "register"])
    # plain ADD COLUMN (no table copy): record_changes keeps its append-only triggers
    op.add_column("record_changes", sa.Column("reason", sa.Text))
    op.add_column("digitised_documents", sa.Column("confirm_reason", sa.Text))

    conn = op.get_bind()
    history: dict[tuple[str, str], list[tuple[datetime | None, str, dict[str, Any]]]] = {}
    for change in conn.execute(sa.select(_changes.c.register, _changes.c.subject,
                                         _changes.c.provenance, _changes.c.after,
                                         _changes.c.at)):
        history.setdefault((change.register, change.subject), []).append(
            (_utc(change.at), change.provenance, _json(change.after)))
    for entries in history.values():
        entries.sort(key=lambda e: e[0] or datetime.min.replace(tzinfo=UTC))
    last_id = 0
    while True:  # in batches: a register may hold millions of records
        rows = conn.execute(sa.select(_records.c.id, _records.c.register, _records.c.subject,
                                      _records.c.data, _records.c.provenance,
                                      _records.c.updated_at)
                            .where(_records.c.id > last_id).order_by(_records.c.id)
                            .limit(1000)).all()
        if not rows:
            break
        last_id = rows[-1].id
        roles = []
        for row in rows:
            data = _json(row.data) or {}
            traced = _traced(data, row.provenance, _utc(row.updated_at),
                             history.get((row.register, row.subject), []))
            conn.execute(_records.update().where(_records.c.id == row.id)
                         .values(field_provenance=traced))
            for role, field in _ROLES.get(row.register, {}).items():
                if isinstance(data.get(field), str):
                    roles.append({"register": row.register, "subject": row.subject,
                                  "role": role, "personal_id": data[field]})
        if roles:
            conn.execute(_roles.insert(), roles)


def downgrade() -> None:
    op.drop_column("digitised_documents", "confirm_reason")
    op.drop_column("record_changes", "reason")
    op.drop_index("ix_record_roles_person", table_name="record_roles")
    op.drop_table("record_roles")
    op.drop_column("records", "field_provenance")
