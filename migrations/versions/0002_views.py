"""Views for analysts: labels_export, frame_labels (+ frame_labels_range), object_frames_px,
object_vertices_px, labeled_frames, branch_labels, and their helpers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The SQL lives in sql/ as one file per view, with the version in the file name
(``sql/labels_export.v1.sql``; ``sql/duckdb/`` and ``sql/postgresql/`` only for the two objects
whose SQL differs: JSON array unnesting in object_vertices, and frame_labels_range, a DuckDB
table macro / a Postgres SQL function). VIEWS below pins the version each view has at this
revision, so this revision installs the same SQL forever.

A later revision that changes a view:
  1. copies sql/<view>.v1.sql to sql/<view>.v2.sql and edits the copy (review with
     `diff sql/<view>.v1.sql sql/<view>.v2.sql`); v1 stays for this revision and for downgrades;
  2. in upgrade(): views.replace(bind, [(view, 2)]) where v2 keeps v1's columns (names, types and
     order; new ones at the end): CREATE OR REPLACE keeps the views others built on it and its grants.
     Else views.drop(bind, OLD[i:]) then views.create(bind, NEW[i:]), where i is the position of the
     changed entry: everything after it may depend on it (Postgres refuses to drop or re-type a view
     that others use), so the tail is dropped and rebuilt;
  3. in downgrade(): the same with OLD and NEW swapped.
Views are created unqualified, in the current schema (Postgres: the engine's search_path).
"""

from alembic import op

from connector import views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Ordered: each entry may use the ones above it.
VIEWS = [
    ("label_rows", 1),
    ("attribute_answers", 1),
    ("object_frames_px", 1),
    ("object_vertices", 1),
    ("object_vertices_px", 1),
    ("labels_export", 1),
    ("frame_labels", 1),
    ("frame_labels_range", 1),
    ("labeled_frames", 1),
    ("branch_labels", 1),
]


def upgrade() -> None:
    views.create(op.get_bind(), VIEWS)


def downgrade() -> None:
    views.drop(op.get_bind(), VIEWS)
