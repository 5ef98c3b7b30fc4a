-- branch_labels: consensus. One row per (annotator branch label row, frame, object feature) where the
-- branch or `main` (same data unit) has objects of that feature on that frame.
--   branch_objects / main_objects: instances of the feature on the frame in each branch
--   branch_boxes: bounding boxes of the feature on the frame in the branch
--   mean_best_iou / min_best_iou: for each branch box, the best IoU with a `main` box of the same
--   feature on the same frame (0 when main has none), averaged / minimum; NULL without branch boxes.
-- IoU uses the normalized coordinates: a common scale on x and on y leaves IoU unchanged.
-- Annotator branches of a data unit without a `main` label row do not appear.
-- v2: obj NOT MATERIALIZED. Postgres materializes a CTE used more than once and, misjudging its size, joined
-- it to itself by nested loops: v1 over a few hundred thousand object frames never finished there.
CREATE VIEW branch_labels AS
WITH pairs AS (
    SELECT a.project_hash, a.data_hash, a.data_title, a.label_hash, a.branch_name,
           m.label_hash AS main_label_hash
    FROM label_rows AS a
    JOIN label_rows AS m
      ON m.project_hash = a.project_hash AND m.data_hash = a.data_hash AND m.branch_name = 'main'
    WHERE a.branch_name <> 'main'
),
obj AS NOT MATERIALIZED (
    SELECT ofr.label_hash, ofr.frame, o.feature_hash, o.name, ofr.object_hash, ofr.shape,
           CAST(ofr.x AS DOUBLE PRECISION) AS x, CAST(ofr.y AS DOUBLE PRECISION) AS y,
           CAST(ofr.w AS DOUBLE PRECISION) AS w, CAST(ofr.h AS DOUBLE PRECISION) AS h
    FROM object_frames AS ofr
    JOIN objects AS o ON o.label_hash = ofr.label_hash AND o.object_hash = ofr.object_hash
),
counts AS (
    SELECT label_hash, frame, feature_hash, MAX(name) AS name, COUNT(*) AS objects
    FROM obj GROUP BY label_hash, frame, feature_hash
),
keys AS (
    SELECT p.label_hash, c.frame, c.feature_hash FROM pairs AS p JOIN counts AS c ON c.label_hash = p.label_hash
    UNION
    SELECT p.label_hash, c.frame, c.feature_hash FROM pairs AS p JOIN counts AS c ON c.label_hash = p.main_label_hash
),
box_pairs AS (
    SELECT p.label_hash, b.frame, b.feature_hash, b.object_hash, b.w * b.h AS branch_area, m.w * m.h AS main_area,
           GREATEST(0, LEAST(b.x + b.w, m.x + m.w) - GREATEST(b.x, m.x))
         * GREATEST(0, LEAST(b.y + b.h, m.y + m.h) - GREATEST(b.y, m.y)) AS intersection
    FROM pairs AS p
    JOIN obj AS b ON b.label_hash = p.label_hash AND b.shape = 'bounding_box'
    LEFT JOIN obj AS m
      ON m.label_hash = p.main_label_hash AND m.frame = b.frame AND m.feature_hash = b.feature_hash
     AND m.shape = 'bounding_box'
),
best AS (
    SELECT label_hash, frame, feature_hash, object_hash,
           COALESCE(MAX(intersection / NULLIF(branch_area + main_area - intersection, 0)), 0) AS best_iou
    FROM box_pairs GROUP BY label_hash, frame, feature_hash, object_hash
),
ious AS (
    SELECT label_hash, frame, feature_hash, COUNT(*) AS boxes, AVG(best_iou) AS mean_best_iou,
           MIN(best_iou) AS min_best_iou
    FROM best GROUP BY label_hash, frame, feature_hash
)
SELECT
    p.project_hash, p.data_hash, p.data_title, k.frame, k.feature_hash,
    COALESCE(oo.name, cb.name, cm.name) AS feature_name,
    oo.shape AS ontology_shape,
    p.branch_name, p.label_hash, p.main_label_hash,
    COALESCE(cb.objects, 0) AS branch_objects,
    COALESCE(cm.objects, 0) AS main_objects,
    COALESCE(cb.objects, 0) - COALESCE(cm.objects, 0) AS object_difference,
    COALESCE(i.boxes, 0) AS branch_boxes,
    i.mean_best_iou,
    i.min_best_iou
FROM pairs AS p
JOIN keys AS k ON k.label_hash = p.label_hash
LEFT JOIN counts AS cb ON cb.label_hash = p.label_hash AND cb.frame = k.frame AND cb.feature_hash = k.feature_hash
LEFT JOIN counts AS cm ON cm.label_hash = p.main_label_hash AND cm.frame = k.frame AND cm.feature_hash = k.feature_hash
LEFT JOIN ious AS i ON i.label_hash = p.label_hash AND i.frame = k.frame AND i.feature_hash = k.feature_hash
LEFT JOIN ontology_objects AS oo ON oo.project_hash = p.project_hash AND oo.feature_hash = k.feature_hash
