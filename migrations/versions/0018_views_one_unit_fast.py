"""Views that answer for one data unit without reading the whole warehouse

- branch_labels v2: its `obj` CTE NOT MATERIALIZED. Postgres materializes a CTE used more than once and,
  misjudging the size of that one, joined it to itself by nested loops: over a few hundred thousand object
  frames the view never finished there (DuckDB answered in 0.3 s).
- labeled_frames v2: each label row's frames are found from the label row (a LATERAL join), so that a filter on
  its title or hash reads its frames by index; v1 made the UNION of every frame first (0.7 s for one video of
  the bench's 700 on Postgres, 5 ms now). extract-frames --title reads it so.
- object_vertices v3, DuckDB only: unnested in the select list, not by lateral joins, so that a filter on
  label_hash reaches the object_frames scan (0.5 s to 0.01 s for one label row; the whole view is faster too).
  Postgres's v2 is kept: there a label_hash filter already reaches it.
Each keeps its columns, so they are replaced in place (analysts' views on them and grants are kept).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from alembic import op

from connector import views

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _vertices(version: int) -> list[tuple[str, int]]:
    return [("object_vertices", version)] if op.get_bind().dialect.name == "duckdb" else []


def upgrade() -> None:
    views.replace(op.get_bind(), [("branch_labels", 2), ("labeled_frames", 2), *_vertices(3)])


def downgrade() -> None:
    views.replace(op.get_bind(), [("branch_labels", 1), ("labeled_frames", 1), *_vertices(2)])
