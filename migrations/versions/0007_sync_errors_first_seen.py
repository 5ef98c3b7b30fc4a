"""sync_errors.first_occurred_at: a problem seen again replaces its earlier row

A label row that fails fails again at every run (it is fetched or read again until it loads), and
each run added a row: a scheduled sync every 15 minutes added 96 a day for one bad row. Now a
failure already recorded (same project, label row, source, field, reason) is one row that takes the
newer run and time, and first_occurred_at keeps when it was first seen.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sync_errors', sa.Column('first_occurred_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE sync_errors SET first_occurred_at = occurred_at")


def downgrade() -> None:
    # DuckDB refuses to drop a column of a table that has an index: drop the index around it (as 0003).
    op.drop_index('ix_sync_errors_label', table_name='sync_errors')
    op.drop_column('sync_errors', 'first_occurred_at')
    op.create_index('ix_sync_errors_label', 'sync_errors', ['label_hash'], unique=False)
