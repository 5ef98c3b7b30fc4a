-- labeled_frames: every (label row, frame) carrying at least one object or classification: the
-- frame-extraction sidecar's to-do list. Its columns are a contract (connector/frames reads them):
-- project_hash, data_hash, data_title, data_type, label_hash, branch_name, frame, fps, timestamp_s,
-- width, height, frame_data_hash, frame_data_title. Add columns only at the end.
--   data_hash:        the label row's data unit (for img_group: the group)
--   frame_data_hash:  the image itself for img_group; equal to data_hash otherwise
--   timestamp_s:      frame / fps for video (computed in double precision), else NULL
--   width, height:    the frame's own size (img_group image, DICOM slice), else the data unit's
CREATE VIEW labeled_frames AS
SELECT
    lr.project_hash, lr.data_hash, lr.data_title, lr.data_type, lr.label_hash, lr.branch_name,
    lf.frame,
    CAST(lr.fps AS DOUBLE PRECISION) AS fps,
    CASE WHEN lr.fps > 0 THEN lf.frame / CAST(lr.fps AS DOUBLE PRECISION)
         ELSE CAST(f.timestamp_s AS DOUBLE PRECISION) END AS timestamp_s,
    COALESCE(f.width, lr.width) AS width,
    COALESCE(f.height, lr.height) AS height,
    COALESCE(f.data_hash, lr.data_hash) AS frame_data_hash,
    COALESCE(f.data_title, lr.data_title) AS frame_data_title
FROM (
    SELECT label_hash, frame FROM object_frames
    UNION
    SELECT label_hash, frame FROM classification_frames
) AS lf
JOIN label_rows AS lr ON lr.label_hash = lf.label_hash
LEFT JOIN frames AS f ON f.label_hash = lf.label_hash AND f.frame = lf.frame
