-- label_rows: one row per live label row (deleted_at IS NULL) with its data unit's facts.
-- Helper for every other view; analysts may use it too.
CREATE VIEW label_rows AS
SELECT
    b.project_hash,
    b.label_hash,
    b.data_hash,
    du.data_title,
    du.data_type,
    b.branch_name,
    b.label_status,
    b.workflow_stage,
    du.fps,
    du.width,
    du.height,
    du.frame_count,
    du.dataset_title,
    du.data_link
FROM branches AS b
JOIN data_units AS du ON du.project_hash = b.project_hash AND du.data_hash = b.data_hash
WHERE b.deleted_at IS NULL
