-- object_vertices (Postgres): the JSON vertex lists of object_frames unnested, normalized 0..1, of live label rows
-- (v2: v1 kept those deleted in Encord, as --keep-deleted leaves them in the tables).
-- The DuckDB twin (sql/duckdb/) differs only in how JSON arrays are unnested.
CREATE VIEW object_vertices AS
SELECT t.label_hash, t.object_hash, t.frame, t.shape,
       CAST(p.n - 1 AS INTEGER) AS polygon_index,
       CAST(r.n - 1 AS INTEGER) AS ring_index,
       CAST(k.i AS INTEGER) AS vertex_index,
       CAST(NULL AS TEXT) AS keypoint_name,
       CAST(NULL AS TEXT) AS keypoint_feature_hash,
       CAST(r.ring ->> (2 * k.i) AS DOUBLE PRECISION) AS x,
       CAST(r.ring ->> (2 * k.i + 1) AS DOUBLE PRECISION) AS y
FROM object_frames AS t
CROSS JOIN LATERAL json_array_elements(t.rings) WITH ORDINALITY AS p(polygon, n)
CROSS JOIN LATERAL json_array_elements(p.polygon) WITH ORDINALITY AS r(ring, n)
CROSS JOIN LATERAL generate_series(0, json_array_length(r.ring) / 2 - 1) AS k(i)
WHERE t.rings IS NOT NULL AND NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = t.label_hash AND d.deleted_at IS NOT NULL)
UNION ALL
SELECT t.label_hash, t.object_hash, t.frame, t.shape, 0, 0,
       CAST(v.n - 1 AS INTEGER),
       t.geometry -> CAST(v.n - 1 AS TEXT) ->> 'name',
       t.geometry -> CAST(v.n - 1 AS TEXT) ->> 'featureHash',
       CAST(v.point ->> 0 AS DOUBLE PRECISION),
       CAST(v.point ->> 1 AS DOUBLE PRECISION)
FROM object_frames AS t
CROSS JOIN LATERAL json_array_elements(t.points) WITH ORDINALITY AS v(point, n)
WHERE t.points IS NOT NULL AND t.rings IS NULL AND NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = t.label_hash AND d.deleted_at IS NOT NULL)
