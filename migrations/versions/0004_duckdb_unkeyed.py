"""DuckDB: the per-annotation tables without primary keys or indexes

DuckDB keeps every primary-key and secondary index (ART) whole in memory, outside its
memory limit, and rewrites it at each checkpoint: on a 430k-annotation load that was a
quarter of the load time, and peak memory grew with the warehouse instead of the batch
(docs/guarantees.md, bench/RESULTS.md). The loader never needs them: it replaces a label
row's rows by label_hash (a scan, which DuckDB's columnar storage does fast), and
normalize refuses a label row whose keys repeat. Postgres keeps its keys and indexes.

DuckDB cannot drop a primary key in place, so each table is rebuilt: a copy with the same
columns and nullability, the rows, then the swap. Views resolve tables by name at query
time, so they survive the swap.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# table -> (primary key, {index name: columns}) as created by 0001
KEYS = {
    'frames': (['label_hash', 'frame'], {}),
    'objects': (['label_hash', 'object_hash'], {}),
    'object_frames': (['label_hash', 'object_hash', 'frame'], {'ix_object_frames_frame': ['label_hash', 'frame']}),
    'classifications': (['label_hash', 'classification_hash'], {}),
    'classification_frames': (['label_hash', 'classification_hash', 'frame'],
                              {'ix_classification_frames_frame': ['label_hash', 'frame']}),
    'attributes': (['label_hash', 'owner_hash', 'answer_seq'], {}),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != 'duckdb':
        return
    for table, (_, indexes) in KEYS.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
        _rebuild(table, primary_key=None)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'duckdb':
        return
    for table, (primary_key, indexes) in KEYS.items():
        _rebuild(table, primary_key)
        for name, columns in indexes.items():
            op.create_index(name, table, columns, unique=False)


def _rebuild(table: str, primary_key: list[str] | None) -> None:
    """CREATE TABLE AS keeps names, order and types but drops NOT NULL: set it again."""
    not_null = op.get_bind().execute(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = :table AND is_nullable = 'NO' ORDER BY ordinal_position"), {'table': table}).scalars().all()
    staging = f'{table}_0004'
    op.execute(f'CREATE TABLE "{staging}" AS SELECT * FROM "{table}"')
    op.drop_table(table)
    op.rename_table(staging, table)
    for column in not_null:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET NOT NULL')
    if primary_key:
        op.create_primary_key(f'{table}_pkey', table, primary_key)
