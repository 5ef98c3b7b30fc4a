-- label_row_json: one row per label row, its JSON as read from Encord or the export (NaN and
-- infinities spelled "NaN", "Infinity", "-Infinity"), joined back from the parts in raw_label_rows.
--   SELECT raw FROM label_row_json WHERE label_hash = '...'
CREATE VIEW label_row_json AS
SELECT label_hash, CAST(string_agg(json_text, '' ORDER BY part) AS JSON) AS raw
FROM raw_label_rows
GROUP BY label_hash
