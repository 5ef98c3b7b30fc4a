"""Label rows an earlier release fetched within five minutes and a second of their last edit are fetched again once

Encord lists edit times in whole seconds: a save later in the second of the version a sync fetched lists as that
version, and was never fetched. The sync now marks a row it fetches within --overlap (default 5m) and a second of
its edit so that the next run fetches it again (sync_encord.marked_unsettled). Rows stored before this revision carry
no such mark; those that may have been fetched in that window (their edit no more than 5 minutes and a second before
the run that wrote them began) lose their listing fingerprint, which makes the next Encord sync fetch them once, as
0012 did for every row. Rows an export sync wrote have none and are left alone. The downgrade leaves them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().execute(sa.text(
        "UPDATE branches SET listing_sha256 = NULL WHERE listing_sha256 IS NOT NULL "
        "AND last_edited_at >= synced_at - INTERVAL '301 seconds'"))


def downgrade() -> None:
    pass
