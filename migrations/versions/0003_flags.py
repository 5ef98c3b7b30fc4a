"""Flag bad values instead of clamping them: object_frames.problems, sync_errors.kept

object_frames.problems lists what is wrong with a kept annotation (a coordinate that is not
finite or outside 0..1, a frame beyond the video's length), NULL when nothing is;
sync_errors.kept is true for a label row that loaded with such flags, NULL/false for one
that was quarantined (not loaded).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('object_frames', sa.Column('problems', sa.Text(), nullable=True))
    op.add_column('sync_errors', sa.Column('kept', sa.Boolean(), nullable=True))


def downgrade() -> None:
    # DuckDB refuses to drop a column of a table that has an index: drop the index around it.
    op.drop_index('ix_sync_errors_label', table_name='sync_errors')
    op.drop_column('sync_errors', 'kept')
    op.create_index('ix_sync_errors_label', 'sync_errors', ['label_hash'], unique=False)
    op.drop_index('ix_object_frames_frame', table_name='object_frames')
    op.drop_column('object_frames', 'problems')
    op.create_index('ix_object_frames_frame', 'object_frames', ['label_hash', 'frame'], unique=False)
