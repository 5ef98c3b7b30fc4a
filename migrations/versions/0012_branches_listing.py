"""branches.listing_sha256: a label row whose listing changed is fetched again

An incremental Encord sync fetched a label row only when its last_edited_at moved. A task moved
through the workflow (approved, returned), a label status set or a data unit renamed leaves
last_edited_at as it was, so the row kept its old workflow stage, statuses and titles. The column
keeps a hash of what the listing said of the row when it loaded (normalize.LISTING_METADATA); a
listing that says otherwise fetches the row again. NULL for rows stored before, and for those an
export sync writes: the first Encord sync after this upgrade fetches every row of the project once.
On DuckDB the downgrade drops ix_branches_data around dropping the column (DuckDB drops no column
of a table with an index on it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('branches', sa.Column('listing_sha256', sa.Text(), nullable=True))


def downgrade() -> None:
    duckdb = op.get_bind().dialect.name == 'duckdb'
    if duckdb:  # DuckDB drops no column of a table that has an index on it
        op.drop_index('ix_branches_data', table_name='branches')
    op.drop_column('branches', 'listing_sha256')
    if duckdb:
        op.create_index('ix_branches_data', 'branches', ['project_hash', 'data_hash'], unique=False)
