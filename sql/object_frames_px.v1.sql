-- object_frames_px: one row per (label row, object, frame) with pixel coordinates.
-- Pixel rule (the SDK's COCO exporter): x and w times the width, y and h times the height.
-- timestamp_s = frame / fps (video only).
-- width/height: the frame's own (img_group image, DICOM slice), else the data unit's.
--   boxes:            x_px, y_px, w_px, h_px, x_max_px, y_max_px (+ theta, degrees, for rotatable boxes;
--                     x_max/y_max are the unrotated extents)
--   point:            x_px, y_px
--   circle, ellipse:  centre x_px, y_px; semi-axes rx_px, ry_px; theta
--   bitmask:          placement in pixels as stored by Encord: x_px=left, y_px=top, w_px, h_px, plus mask_rle
--   polygon, polyline, skeleton: vertices are in object_vertices_px
CREATE VIEW object_frames_px AS
SELECT
    g.project_hash, g.label_hash, g.data_hash, g.data_title, g.data_type, g.branch_name, g.frame,
    g.timestamp_s, g.frame_data_hash, g.frame_data_title, g.object_hash, g.feature_hash, g.object_name, g.object_color,
    g.shape, g.width, g.height,
    g.x, g.y, g.w, g.h, g.theta,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_left ELSE g.x * g.width END AS x_px,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_top ELSE g.y * g.height END AS y_px,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_width ELSE g.w * g.width END AS w_px,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_height ELSE g.h * g.height END AS h_px,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_left + g.mask_width ELSE (g.x + g.w) * g.width END AS x_max_px,
    CASE WHEN g.shape = 'bitmask' THEN g.mask_top + g.mask_height ELSE (g.y + g.h) * g.height END AS y_max_px,
    CASE g.shape WHEN 'circle' THEN g.r * g.width WHEN 'ellipse' THEN g.rx * g.width END AS rx_px,
    CASE g.shape WHEN 'circle' THEN g.r * g.stretch * g.width WHEN 'ellipse' THEN g.ry * g.height END AS ry_px,
    g.mask_rle,
    g.confidence, g.manual_annotation, g.created_by, g.created_at, g.last_edited_by, g.last_edited_at
FROM (
    SELECT
        lr.project_hash, lr.label_hash, lr.data_hash, lr.data_title, lr.data_type, lr.branch_name, ofr.frame,
        CASE WHEN lr.fps > 0 THEN ofr.frame / CAST(lr.fps AS DOUBLE PRECISION) END AS timestamp_s,
        COALESCE(f.data_hash, lr.data_hash) AS frame_data_hash,
        COALESCE(f.data_title, lr.data_title) AS frame_data_title,
        ofr.object_hash, o.feature_hash, o.name AS object_name, o.color AS object_color, ofr.shape,
        COALESCE(f.width, lr.width) AS width,
        COALESCE(f.height, lr.height) AS height,
        CAST(ofr.x AS DOUBLE PRECISION) AS x,
        CAST(ofr.y AS DOUBLE PRECISION) AS y,
        CAST(ofr.w AS DOUBLE PRECISION) AS w,
        CAST(ofr.h AS DOUBLE PRECISION) AS h,
        CAST(ofr.theta AS DOUBLE PRECISION) AS theta,
        CAST(ofr.geometry ->> 'r' AS DOUBLE PRECISION) AS r,
        COALESCE(CAST(ofr.geometry ->> 'stretch' AS DOUBLE PRECISION), 1.0) AS stretch,
        CAST(ofr.geometry ->> 'rx' AS DOUBLE PRECISION) AS rx,
        CAST(ofr.geometry ->> 'ry' AS DOUBLE PRECISION) AS ry,
        CASE WHEN ofr.shape = 'bitmask' THEN CAST(ofr.geometry ->> 'left' AS DOUBLE PRECISION) END AS mask_left,
        CASE WHEN ofr.shape = 'bitmask' THEN CAST(ofr.geometry ->> 'top' AS DOUBLE PRECISION) END AS mask_top,
        CASE WHEN ofr.shape = 'bitmask' THEN CAST(ofr.geometry ->> 'width' AS DOUBLE PRECISION) END AS mask_width,
        CASE WHEN ofr.shape = 'bitmask' THEN CAST(ofr.geometry ->> 'height' AS DOUBLE PRECISION) END AS mask_height,
        CASE WHEN ofr.shape = 'bitmask' THEN ofr.geometry ->> 'rleString' END AS mask_rle,
        ofr.confidence, ofr.manual_annotation, ofr.created_by, ofr.created_at, ofr.last_edited_by, ofr.last_edited_at
    FROM object_frames AS ofr
    JOIN label_rows AS lr ON lr.label_hash = ofr.label_hash
    JOIN objects AS o ON o.label_hash = ofr.label_hash AND o.object_hash = ofr.object_hash
    LEFT JOIN frames AS f ON f.label_hash = ofr.label_hash AND f.frame = ofr.frame
) AS g
