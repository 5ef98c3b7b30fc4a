"""sync_errors.resolved_at: when a later run found the problem gone

Each problem stays one row (0007), but nothing said whether it still holds: a label row fixed in
Encord, a broken export file replaced, a video found again kept their rows as if still failing. A
run now marks the problems it found gone with resolved_at: `WHERE resolved_at IS NULL` is what is
failing now. Rows recorded before this revision stay open until a run finds them gone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sync_errors', sa.Column('resolved_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    # DuckDB refuses to drop a column of a table that has an index: drop the index around it (as 0003).
    op.drop_index('ix_sync_errors_label', table_name='sync_errors')
    op.drop_column('sync_errors', 'resolved_at')
    op.create_index('ix_sync_errors_label', 'sync_errors', ['label_hash'], unique=False)
