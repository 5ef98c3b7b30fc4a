"""projects.ontology_fingerprint, ontology_pending: which ontology the project's ontology tables hold,
and whether an export sync that changed it has yet to re-derive the project's rows

An export sync without --ontology normalized its rows with no ontology at all, though the tables
held the project's (from an earlier --ontology or an Encord sync): names went back to the rows' own,
nested answers lost their parents, and `rebuild` (which reads the tables) disagreed. It now uses the
stored ontology, and needs its fingerprint to skip the files and rows it read with it before. An
export sync that changes the ontology also re-derives the project's rows it did not read (their
files gone from the folder) from the raw archive; ontology_pending says so from the run's first
transaction to its last, so that the next run finishes the work of one that failed or was killed.
Projects stored before this revision have no fingerprint: their next export sync without --ontology
reads their files once more.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('projects', sa.Column('ontology_fingerprint', sa.Text(), nullable=True))
    op.add_column('projects', sa.Column('ontology_pending', sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column('projects', 'ontology_pending')
    op.drop_column('projects', 'ontology_fingerprint')
