"""export_files: the export files a sync read, so that the next one reads only new ones

A folder of exports collected day after day was read whole by every sync (twice: once to find
which file holds the last copy of each label row). With the files an earlier run read, their
versions and the ontology their rows were normalized with, a sync reads from the first new file on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_files',
                    sa.Column('project_hash', sa.Text(), nullable=False),
                    sa.Column('export', sa.Text(), nullable=False),
                    sa.Column('name', sa.Text(), nullable=False),
                    sa.Column('version', sa.Text(), nullable=False),
                    sa.Column('ontology_fingerprint', sa.Text(), nullable=False),
                    sa.Column('run_id', sa.Text(), nullable=True),
                    sa.Column('read_at', sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint('project_hash', 'export', 'name'))


def downgrade() -> None:
    op.drop_table('export_files')
