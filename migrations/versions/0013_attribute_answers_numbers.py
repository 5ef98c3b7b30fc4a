"""attribute_answers v2: a numeric answer beyond BIGINT's range no longer fails the views

v1 printed every whole-numbered answer through CAST(... AS BIGINT); one answer of 1e20, NaN or an
infinity (the sync keeps them, as Encord's JSON holds them) made every query of attribute_answers,
labels_export, frame_labels and frame_labels_range fail, whatever it selected. v2 casts only whole
numbers below 2^53 (exact in a double) and prints the rest as the database spells a double.
attribute_answers comes second in 0002's manifest; everything after it there may use it, so that
tail is dropped and created again (Postgres refuses to replace a view that others use).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from alembic import op

from connector import views


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# 0002's manifest from attribute_answers on, with the version each entry has before and after.
BEFORE = [
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
AFTER = [("attribute_answers", 2), *BEFORE[1:]]


def upgrade() -> None:
    views.drop(op.get_bind(), BEFORE)
    views.create(op.get_bind(), AFTER)


def downgrade() -> None:
    views.drop(op.get_bind(), AFTER)
    views.create(op.get_bind(), BEFORE)
