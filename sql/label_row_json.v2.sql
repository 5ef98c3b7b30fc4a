-- label_row_json: one row per live label row (v2: v1 kept those deleted in Encord, as --keep-deleted
-- leaves them in the tables), its JSON as read from Encord or the export (NaN and
-- infinities spelled "NaN", "Infinity", "-Infinity"), joined back from the parts in raw_label_rows.
--   SELECT raw FROM label_row_json WHERE label_hash = '...'
CREATE VIEW label_row_json AS
SELECT label_hash, CAST(string_agg(json_text, '' ORDER BY part) AS JSON) AS raw
FROM raw_label_rows AS r
WHERE NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = r.label_hash AND d.deleted_at IS NOT NULL)
GROUP BY label_hash
