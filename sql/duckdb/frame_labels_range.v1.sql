-- frame_labels_range(title, start_frame, end_frame): frame_labels of one data unit, frames
-- start_frame..end_frame inclusive. DuckDB table macro; Postgres has a SQL function of the same
-- name and arguments (sql/postgresql/). SELECT * FROM frame_labels_range('video.mp4', 100, 250)
CREATE MACRO frame_labels_range(title, start_frame, end_frame) AS TABLE
SELECT * FROM frame_labels
WHERE data_title = title AND frame BETWEEN start_frame AND end_frame
