"""sync_runs.vanished: rows listed, then deleted in Encord before their fetch

A row deleted between a run's listing and its fetch was counted nowhere: listed, but neither fetched
nor unchanged, with nothing in sync_runs saying why (only a log line). Encord syncs now count them.
Runs recorded before this revision have none (NULL).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sync_runs', sa.Column('vanished', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('sync_runs', 'vanished')
