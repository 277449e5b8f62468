"""A dossier records on what basis the records of people other than its declarant were read
when it was filed (issue #16, "What must hold" 2): a person named by a typed number and linked
to the declarant by a relation the form allows (a ward, a child…), or chosen by an answer (the
spouse, the mother…), per register read.

Dossiers filed before this migration have none recorded (NULL: not known, unlike [] which says
nobody else's records were read).

Revision ID: 0013_dossier_prefill_basis
Revises: 0012_office_queue
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_dossier_prefill_basis"
down_revision = "0012_office_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("prefill_basis", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("prefill_basis")
