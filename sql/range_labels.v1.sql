-- range_labels: one row per range of an object or classification of a live audio or text label
-- row (annotation_ranges), with its label row's facts and the object's or classification's name.
-- Ranges are inclusive: audio in milliseconds (start_s, end_s: in seconds), plain text in
-- characters; an HTML document's is a span between nodes (html_range, range_start/end NULL).
CREATE VIEW range_labels AS
SELECT
    lr.project_hash, lr.label_hash, lr.data_hash, lr.data_title, lr.data_type, lr.branch_name,
    r.owner_kind AS label_kind,
    r.owner_hash,
    COALESCE(o.feature_hash, c.feature_hash) AS feature_hash,
    COALESCE(o.name, c.name) AS name,
    c.answer AS classification_answer,
    r.range_seq,
    r.range_start,
    r.range_end,
    CASE WHEN lr.data_type = 'audio' THEN CAST(r.range_start AS DOUBLE PRECISION) / 1000 END AS start_s,
    CASE WHEN lr.data_type = 'audio' THEN CAST(r.range_end AS DOUBLE PRECISION) / 1000 END AS end_s,
    r.html_range
FROM annotation_ranges AS r
JOIN label_rows AS lr ON lr.label_hash = r.label_hash
LEFT JOIN objects AS o
    ON r.owner_kind = 'object' AND o.label_hash = r.label_hash AND o.object_hash = r.owner_hash
LEFT JOIN classifications AS c
    ON r.owner_kind = 'classification' AND c.label_hash = r.label_hash AND c.classification_hash = r.owner_hash
