"""The raw label-row JSON moves from branches.raw to raw_label_rows, in parts

DuckDB pins a whole value in memory when a checkpoint rewrites it, and branches.raw held one
value per label row (hundreds of kilobytes to megabytes): a load's peak memory grew with the
warehouse (+113% on a 4x export) and failed under a memory limit. raw_label_rows holds the
same JSON text cut into parts of at most 32,000 characters, in order; the view label_row_json
joins them back. On DuckDB the table has no primary key (as the tables of 0004).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

from connector import views


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

PART_CHARS = 32000
VIEWS = [("label_row_json", 1)]

# A label row's JSON as text: the text of a json column is the JSON as stored; DuckDB renders its JSON
# type as text the same way.
_RAW_TEXT = {'postgresql': "raw::text", 'duckdb': "CAST(raw AS VARCHAR)"}


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    keys = [sa.PrimaryKeyConstraint('label_hash', 'part')] if dialect != 'duckdb' else []
    op.create_table('raw_label_rows',
                    sa.Column('label_hash', sa.Text(), nullable=False),
                    sa.Column('part', sa.Integer(), nullable=False),
                    sa.Column('json_text', sa.Text(), nullable=False),
                    *keys)
    _copy_in_parts(bind)
    if dialect == 'duckdb':
        _rebuild_branches(without_raw=True)
    else:
        op.drop_column('branches', 'raw')
    views.create(bind, VIEWS)


def downgrade() -> None:
    bind = op.get_bind()
    views.drop(bind, VIEWS)
    if bind.dialect.name == 'duckdb':
        _rebuild_branches(without_raw=False)
    else:
        op.add_column('branches', sa.Column('raw', sa.JSON(), nullable=True))
        op.execute("UPDATE branches AS b SET raw = CAST(j.raw AS JSON) FROM "
                   "(SELECT label_hash, string_agg(json_text, '' ORDER BY part) AS raw "
                   "FROM raw_label_rows GROUP BY label_hash) AS j WHERE j.label_hash = b.label_hash")
    op.drop_table('raw_label_rows')


def _copy_in_parts(bind) -> None:
    """Each label row's JSON into raw_label_rows, one row at a time. (Until 2026-11-29 one INSERT … SELECT
    cut them all: DuckDB held each row's whole text once per part, and a warehouse of 115 MB of JSON
    needed more than the 128MB a command runs with.)"""
    label_hashes = bind.execute(sa.text("SELECT label_hash FROM branches WHERE raw IS NOT NULL")).scalars().all()
    read = sa.text(f"SELECT {_RAW_TEXT[bind.dialect.name]} FROM branches WHERE label_hash = :label_hash")
    write = sa.text("INSERT INTO raw_label_rows (label_hash, part, json_text) VALUES (:label_hash, :part, :json_text)")
    for label_hash in label_hashes:
        text = bind.execute(read, {"label_hash": label_hash}).scalar_one()
        bind.execute(write, [{"label_hash": label_hash, "part": part, "json_text": text[start:start + PART_CHARS]}
                             for part, start in enumerate(range(0, len(text), PART_CHARS))])


def _rebuild_branches(without_raw: bool) -> None:
    """DuckDB drops no column of a table with a primary key or index: a new branches, rows copied."""
    columns = ("label_hash, project_hash, data_hash, branch_name, label_status, annotation_task_status, "
               "workflow_stage, workflow_stage_uuid, created_at, last_edited_at, synced_at, deleted_at, content_sha256")
    raw = "" if without_raw else (", CAST((SELECT string_agg(json_text, '' ORDER BY part) FROM raw_label_rows r "
                                  "WHERE r.label_hash = b.label_hash) AS JSON) AS raw")
    op.execute(f"CREATE TABLE branches_0005 AS SELECT {columns}{raw} FROM branches AS b")
    op.drop_index('ix_branches_data', table_name='branches')
    op.drop_table('branches')
    op.rename_table('branches_0005', 'branches')
    for column in ('label_hash', 'project_hash', 'data_hash', 'branch_name'):
        op.execute(f'ALTER TABLE branches ALTER COLUMN {column} SET NOT NULL')
    op.create_primary_key('branches_pkey', 'branches', ['label_hash'])
    op.create_index('ix_branches_data', 'branches', ['project_hash', 'data_hash'], unique=False)
