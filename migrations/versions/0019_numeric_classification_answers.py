"""classifications.answer prints a whole-numbered numeric answer as attribute_answers does, "1000000" not "1000000.0"

The sync wrote a numeric classification's answer with Python's str(): "1000000.0", where the views' answer
(attribute_answers) says "1000000". The sync now writes it the view's way; this revision rewrites the answers
stored before it. An answer is rewritten only when it is spelled as Python spells a whole float (digits, ".0"),
below 2^53 as the sync's (larger ones keep their ".0"), and the classification has a numeric answer: a text answer
"5.0" is left as written.
The downgrade leaves them: the older code reads either spelling.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

WHOLE_FLOAT = {"postgresql": "answer ~ '^-?[0-9]+\\.0$'", "duckdb": "regexp_full_match(answer, '-?[0-9]+\\.0')"}


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE classifications SET answer = CAST(CAST(CAST(answer AS DOUBLE PRECISION) AS BIGINT) AS TEXT) "
        f"WHERE {WHOLE_FLOAT[bind.dialect.name]} AND ABS(CAST(answer AS DOUBLE PRECISION)) < 9007199254740992 "
        "AND EXISTS (SELECT 1 FROM attributes AS a "
        "WHERE a.label_hash = classifications.label_hash AND a.owner_hash = classifications.classification_hash "
        "AND a.owner_kind = 'classification' AND a.number_value IS NOT NULL)"))


def downgrade() -> None:
    pass
