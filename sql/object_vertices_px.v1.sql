-- object_vertices_px: one row per vertex of polygons, polylines, points and skeletons, in pixels.
--   polygon:  every ring of every polygon (Encord's `polygons`): polygon_index, ring_index (0 = outer,
--             1.. = holes), vertex_index
--   polyline, point, skeleton: polygon_index = ring_index = 0; skeleton keypoints carry their name
--             and feature hash
-- x_px = x * width, y_px = y * height, with the frame's own size (see object_frames_px).
CREATE VIEW object_vertices_px AS
SELECT
    px.project_hash, px.label_hash, px.data_hash, px.data_title, px.data_type, px.branch_name, px.frame,
    px.frame_data_hash, px.frame_data_title, px.object_hash, px.feature_hash, px.object_name, v.shape,
    v.polygon_index, v.ring_index, v.vertex_index, v.keypoint_name, v.keypoint_feature_hash,
    v.x, v.y, v.x * px.width AS x_px, v.y * px.height AS y_px, px.width, px.height
FROM object_vertices AS v
JOIN object_frames_px AS px
  ON px.label_hash = v.label_hash AND px.object_hash = v.object_hash AND px.frame = v.frame
