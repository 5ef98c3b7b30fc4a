-- attribute_answers: the attributes table with one printable answer per row:
-- the option name (radio/checklist), the text, or the number (whole numbers below 2^53 without ".0";
-- larger ones, infinities and NaN as the database spells a double: v1 cast every whole number to
-- BIGINT, and one answer beyond its range failed every query of the views that use this one).
-- v3: live label rows only (v2 kept those deleted in Encord, as --keep-deleted leaves them in the tables).
-- Dynamic answers hold for frames start_frame..end_frame (inclusive); static ones for every frame.
CREATE VIEW attribute_answers AS
SELECT
    a.label_hash, a.owner_hash, a.owner_kind, a.answer_seq,
    a.attribute_hash, a.attribute_name, a.attribute_type,
    COALESCE(
        a.option_name,
        a.text_value,
        CASE WHEN a.number_value = FLOOR(a.number_value) AND ABS(a.number_value) < 9007199254740992
             THEN CAST(CAST(a.number_value AS BIGINT) AS TEXT)
             ELSE CAST(a.number_value AS TEXT) END
    ) AS answer,
    a.option_hash, a.option_value, a.text_value,
    CAST(a.number_value AS DOUBLE PRECISION) AS number_value,
    a.dynamic, a.start_frame, a.end_frame,
    a.parent_attribute_hash, a.parent_option_hash, a.manual_annotation
FROM attributes AS a
WHERE NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = a.label_hash AND d.deleted_at IS NOT NULL)
