"""Postgres: frame_labels_range reads the frame_labels of its own schema, whoever calls it

0002 created the function with `SET search_path FROM CURRENT`, which keeps the search_path as written.
In a warehouse made without --schema that is the server's default, `"$user", public`, and `"$user"` is
read as the caller: an analyst whose own schema holds a `frame_labels` (a dbt model) got that one's
rows from public.frame_labels_range, without a word. The function now names the schema it lives in.
DuckDB's table macro is unchanged (docs/views.md: under ATTACH, `USE` the warehouse first).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

FUNCTION = "frame_labels_range(text, integer, integer)"


def upgrade() -> None:
    # The function's own schema (%I: quoted by the server), then pg_temp, which is otherwise searched first and
    # would let a caller's temporary frame_labels stand in for the warehouse's.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DO $$ BEGIN EXECUTE format('ALTER FUNCTION {FUNCTION} SET search_path = %I, pg_temp', "
                   f"(SELECT n.nspname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
                   f"WHERE p.oid = '{FUNCTION}'::regprocedure)); END $$")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # as 0002 set it: the session's search_path
        op.execute(f"ALTER FUNCTION {FUNCTION} SET search_path FROM CURRENT")
