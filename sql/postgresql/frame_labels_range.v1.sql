-- frame_labels_range(title, start_frame, end_frame): frame_labels of one data unit, frames
-- start_frame..end_frame inclusive. Postgres SQL function; DuckDB has a table macro of the same
-- name and arguments (sql/duckdb/). SELECT * FROM frame_labels_range('video.mp4', 100, 250)
-- SET search_path FROM CURRENT pins the schema the function was created in.
CREATE FUNCTION frame_labels_range(title TEXT, start_frame INTEGER, end_frame INTEGER)
RETURNS SETOF frame_labels
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
SELECT * FROM frame_labels
WHERE data_title = title AND frame BETWEEN start_frame AND end_frame
$$
