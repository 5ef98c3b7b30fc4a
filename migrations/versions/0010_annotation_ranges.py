"""annotation_ranges: the objects and classifications of audio and text label rows

Audio and plain-text (and HTML) label rows hold no frames: their objects are in object_answers,
each with a list of ranges (audio: milliseconds; plain text: characters; HTML: start and end node
and offset), and their classifications' ranges are in the same units. Each range is a row here;
the objects and classifications themselves go where those of every other data type go. Such label
rows were refused before (sync_errors: unsupported data type): a sync of them after this revision
loads them (none was stored, so an Encord sync fetches them, and an export file with one is read
again) and resolves their problems. On DuckDB the table has no primary key (as the tables of 0004).
The view range_labels gives each range with its label row and its object's or classification's name.
A downgrade drops the ranges with the table; after upgrading again, `encord-warehouse rebuild`
writes them back from the raw archive (a sync leaves the unchanged rows alone).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa

from connector import views


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

VIEWS = [("range_labels", 1)]


def upgrade() -> None:
    keys = [sa.PrimaryKeyConstraint('label_hash', 'owner_hash', 'range_seq')] if op.get_bind().dialect.name != 'duckdb' else []
    op.create_table('annotation_ranges',
                    sa.Column('label_hash', sa.Text(), nullable=False),
                    sa.Column('owner_hash', sa.Text(), nullable=False),
                    sa.Column('range_seq', sa.Integer(), nullable=False),
                    sa.Column('owner_kind', sa.Text(), nullable=False),
                    sa.Column('range_start', sa.BigInteger(), nullable=True),
                    sa.Column('range_end', sa.BigInteger(), nullable=True),
                    sa.Column('html_range', sa.JSON(), nullable=True),
                    *keys)
    views.create(op.get_bind(), VIEWS)


def downgrade() -> None:
    views.drop(op.get_bind(), VIEWS)
    op.drop_table('annotation_ranges')
