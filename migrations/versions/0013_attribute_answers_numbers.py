"""attribute_answers v2: a numeric answer beyond BIGINT's range no longer fails the views

v1 printed every whole-numbered answer through CAST(... AS BIGINT); one answer of 1e20, NaN or an
infinity (the sync keeps them, as Encord's JSON holds them) made every query of attribute_answers,
labels_export, frame_labels and frame_labels_range fail, whatever it selected. v2 casts only whole
numbers below 2^53 (exact in a double) and prints the rest as the database spells a double.
Its columns are v1's, so it replaces v1 in place (views.replace): views built on it, ours and an
analyst's, and grants on it stay. (Until 2026-11-29 this revision dropped it and every view after it
in 0002's manifest and created them again, which failed on Postgres where an analyst's view used one
of them, and lost the grants of a read-only role.)

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


def upgrade() -> None:
    views.replace(op.get_bind(), [("attribute_answers", 2)])


def downgrade() -> None:
    views.replace(op.get_bind(), [("attribute_answers", 1)])
