-- frame_labels: one row per (label row, frame, object or classification instance) with the frame's
-- facts, the pixel box/point/circle geometry (see object_frames_px) and the answers that hold on that
-- frame (dynamic ones resolved to their ranges) as "Name: answer; ..." in answer order.
--   SELECT * FROM frame_labels WHERE data_title = 'video.mp4' AND frame BETWEEN 100 AND 250
--   SELECT * FROM frame_labels WHERE data_title = 'video.mp4' AND frame IN (10, 20, 30, 40)
CREATE VIEW frame_labels AS
SELECT
    px.project_hash, px.label_hash, px.data_hash, px.data_title, px.data_type, px.branch_name, px.frame,
    px.timestamp_s, px.frame_data_hash, px.frame_data_title, px.width, px.height,
    'object' AS label_kind,
    px.object_hash AS instance_hash,
    px.feature_hash,
    px.object_name AS name,
    oo.uid,
    COALESCE(oo.color, px.object_color) AS color,
    px.shape,
    px.x_px, px.y_px, px.w_px, px.h_px, px.x_max_px, px.y_max_px, px.theta, px.confidence,
    (SELECT string_agg(a.attribute_name || ': ' || a.answer, '; ' ORDER BY a.answer_seq)
       FROM attribute_answers AS a
      WHERE a.label_hash = px.label_hash AND a.owner_hash = px.object_hash AND a.owner_kind = 'object'
        AND (a.start_frame IS NULL OR px.frame BETWEEN a.start_frame AND a.end_frame)) AS answers
FROM object_frames_px AS px
LEFT JOIN ontology_objects AS oo ON oo.project_hash = px.project_hash AND oo.feature_hash = px.feature_hash
UNION ALL
SELECT
    lr.project_hash, lr.label_hash, lr.data_hash, lr.data_title, lr.data_type, lr.branch_name, cf.frame,
    CASE WHEN lr.fps > 0 THEN cf.frame / CAST(lr.fps AS DOUBLE PRECISION) END,
    COALESCE(f.data_hash, lr.data_hash), COALESCE(f.data_title, lr.data_title),
    COALESCE(f.width, lr.width), COALESCE(f.height, lr.height),
    'classification',
    c.classification_hash,
    c.feature_hash,
    COALESCE(oc.name, c.name),
    oc.uid,
    CAST(NULL AS TEXT), CAST(NULL AS TEXT),
    CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION),
    CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION),
    CAST(NULL AS DOUBLE PRECISION), c.confidence,
    (SELECT string_agg(a.attribute_name || ': ' || a.answer, '; ' ORDER BY a.answer_seq)
       FROM attribute_answers AS a
      WHERE a.label_hash = cf.label_hash AND a.owner_hash = cf.classification_hash
        AND a.owner_kind = 'classification'
        AND (a.start_frame IS NULL OR cf.frame BETWEEN a.start_frame AND a.end_frame))
FROM classification_frames AS cf
JOIN label_rows AS lr ON lr.label_hash = cf.label_hash
JOIN classifications AS c ON c.label_hash = cf.label_hash AND c.classification_hash = cf.classification_hash
LEFT JOIN frames AS f ON f.label_hash = cf.label_hash AND f.frame = cf.frame
LEFT JOIN ontology_classifications AS oc ON oc.project_hash = lr.project_hash AND oc.feature_hash = c.feature_hash
