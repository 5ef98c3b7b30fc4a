-- labels_export: the docs' export table. One row per (label row, frame, object or classification,
-- attribute answer); an object without answers on a frame still has one row (attribute columns NULL).
-- Dynamic answers appear only on the frames their range covers.
--   uid = the ontology element's local id (ontology_objects.uid / ontology_classifications.uid, i.e.
--   object_instance.ontology_item.uid), the same for every instance of a feature: NOT an instance id.
--   Classification rows: classification_answer / classification_answer_hash repeat attribute_answer /
--   attribute_answer_feature_hash; attribute_name tells nested answers (e.g. Intensity under Rain) apart.
CREATE VIEW labels_export AS
SELECT
    lr.project_hash, lr.label_hash, lr.data_hash, lr.data_title, lr.branch_name, ofr.frame,
    'object' AS label_kind,
    ofr.object_hash,
    o.name AS object_name,
    o.feature_hash,
    oo.uid,
    COALESCE(oo.color, o.color) AS object_color,
    COALESCE(oo.shape, o.shape) AS ontology_shape,
    CAST(NULL AS TEXT) AS classification_name,
    CAST(NULL AS TEXT) AS classification_answer,
    CAST(NULL AS TEXT) AS classification_hash,
    CAST(NULL AS TEXT) AS classification_answer_hash,
    a.attribute_name,
    a.attribute_hash AS attribute_feature_hash,
    a.answer AS attribute_answer,
    a.option_hash AS attribute_answer_feature_hash,
    a.dynamic AS attribute_dynamic,
    a.answer_seq
FROM object_frames AS ofr
JOIN label_rows AS lr ON lr.label_hash = ofr.label_hash
JOIN objects AS o ON o.label_hash = ofr.label_hash AND o.object_hash = ofr.object_hash
LEFT JOIN ontology_objects AS oo ON oo.project_hash = lr.project_hash AND oo.feature_hash = o.feature_hash
LEFT JOIN attribute_answers AS a
  ON a.label_hash = ofr.label_hash AND a.owner_hash = ofr.object_hash AND a.owner_kind = 'object'
 AND (a.start_frame IS NULL OR ofr.frame BETWEEN a.start_frame AND a.end_frame)
UNION ALL
SELECT
    lr.project_hash, lr.label_hash, lr.data_hash, lr.data_title, lr.branch_name, cf.frame,
    'classification' AS label_kind,
    CAST(NULL AS TEXT), CAST(NULL AS TEXT),
    c.feature_hash,
    oc.uid,
    CAST(NULL AS TEXT), CAST(NULL AS TEXT),
    COALESCE(oc.name, c.name) AS classification_name,
    a.answer AS classification_answer,
    c.classification_hash,
    a.option_hash AS classification_answer_hash,
    a.attribute_name,
    a.attribute_hash,
    a.answer,
    a.option_hash,
    a.dynamic,
    a.answer_seq
FROM classification_frames AS cf
JOIN label_rows AS lr ON lr.label_hash = cf.label_hash
JOIN classifications AS c ON c.label_hash = cf.label_hash AND c.classification_hash = cf.classification_hash
LEFT JOIN ontology_classifications AS oc ON oc.project_hash = lr.project_hash AND oc.feature_hash = c.feature_hash
LEFT JOIN attribute_answers AS a
  ON a.label_hash = cf.label_hash AND a.owner_hash = cf.classification_hash AND a.owner_kind = 'classification'
 AND (a.start_frame IS NULL OR cf.frame BETWEEN a.start_frame AND a.end_frame)
