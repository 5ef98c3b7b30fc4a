"""label_row_json, attribute_answers and object_vertices leave out label rows deleted in Encord

The README and docs/views.md say every view leaves out label rows deleted in Encord (which
`--keep-deleted` keeps in the tables with `branches.deleted_at` set); these three read the tables
directly and kept them. Each new version keeps its old one's columns, so it replaces it in place
(views.replace): views built on them and grants on them stay.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from alembic import op

from connector import views


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    views.replace(op.get_bind(), [("label_row_json", 2), ("attribute_answers", 3), ("object_vertices", 2)])


def downgrade() -> None:
    views.replace(op.get_bind(), [("label_row_json", 1), ("attribute_answers", 2), ("object_vertices", 1)])
