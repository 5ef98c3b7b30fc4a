"""sync_runs.run_seq: the order runs started in, from a sequence, not the machine's clock

`status` (and its JSON `runs[0]`, which monitoring reads as "the last run") ordered runs by
started_at, the clock of the machine that ran them: after the clock stepped back (a VM snapshot
restored, a wrong NTP source corrected), an older run showed as the latest until the clock caught
up. A run now takes the next number of the sequence sync_runs_run_seq when it is recorded, which
only grows. Runs recorded before this revision are numbered in the order of their started_at.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

SEQUENCE = "sync_runs_run_seq"


def upgrade() -> None:
    op.add_column('sync_runs', sa.Column('run_seq', sa.BigInteger(), nullable=True))
    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE sync_runs SET run_seq = numbered.n FROM (SELECT run_id, row_number() OVER "
        "(ORDER BY started_at, run_id) AS n FROM sync_runs) AS numbered WHERE numbered.run_id = sync_runs.run_id"))
    numbered = connection.scalar(sa.text("SELECT count(*) FROM sync_runs"))
    # The start is a count from the database, not input; DDL takes no bind parameters.
    op.execute(f"CREATE SEQUENCE {SEQUENCE} START WITH {int(numbered) + 1}")
    op.alter_column('sync_runs', 'run_seq', server_default=sa.text(f"nextval('{SEQUENCE}')"))


def downgrade() -> None:
    op.alter_column('sync_runs', 'run_seq', server_default=None)
    op.drop_column('sync_runs', 'run_seq')
    op.execute(f"DROP SEQUENCE {SEQUENCE}")
