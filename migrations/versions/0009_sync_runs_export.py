"""sync_runs.export: the export an export sync read

A problem of an export file (sync_errors.source, the file's path in its export) was resolved only by
reading the file again whole: a broken file deleted from its folder kept its problem open for ever,
since nothing said which export the file had been in. A run of `sync --from-export` now records its
export (the path made absolute, or the URL without its query, as export_files names it), and a
sync of the same export resolves the problems of files no longer in it. Runs recorded before this
revision have none: their file problems stay open until the file is read again whole.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sync_runs', sa.Column('export', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('sync_runs', 'export')
