"""classifications.problems: a classification range past the last frame is cut there and flagged

A classification's range becomes a classification_frames row (and a frames row) per frame. A range
that reaches past the last frame of its video (the listing's frame count, else duration x fps) now
stops at that frame, and classifications.problems says what was left out; its label row loads with
a sync_errors row (kept = true), as for object_frames.problems (0003). Rows stored before keep their
frames past the end until they change or `encord-warehouse rebuild` runs; the column is NULL for them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('classifications', sa.Column('problems', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('classifications', 'problems')
