-- object_vertices (DuckDB): the JSON vertex lists of object_frames unnested, normalized 0..1, of live label rows
-- (v3: unnested in the select list, not by lateral joins, so that a filter on label_hash reaches the object_frames
-- scan: v2 unnested every vertex of the warehouse to answer for one label row).
-- The Postgres twin (sql/postgresql/) differs only in how JSON arrays are unnested.
CREATE VIEW object_vertices AS
WITH live AS (
    SELECT label_hash, object_hash, frame, shape, rings, points, geometry FROM object_frames AS o
    WHERE NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = o.label_hash AND d.deleted_at IS NOT NULL)
),
polygons AS (
    SELECT label_hash, object_hash, frame, shape,
           unnest(CAST(rings AS DOUBLE[][][])) AS polygon,
           generate_subscripts(CAST(rings AS DOUBLE[][][]), 1) - 1 AS polygon_index
    FROM live WHERE rings IS NOT NULL
),
rings AS (
    SELECT label_hash, object_hash, frame, shape, polygon_index,
           unnest(polygon) AS ring, generate_subscripts(polygon, 1) - 1 AS ring_index
    FROM polygons
),
ring_vertices AS (
    SELECT label_hash, object_hash, frame, shape, polygon_index, ring_index, ring,
           unnest(range(0, len(ring) // 2)) AS vertex_index
    FROM rings
),
points AS (
    SELECT label_hash, object_hash, frame, shape, geometry,
           unnest(CAST(points AS DOUBLE[][])) AS point,
           generate_subscripts(CAST(points AS DOUBLE[][]), 1) - 1 AS vertex_index
    FROM live WHERE points IS NOT NULL AND rings IS NULL
)
SELECT label_hash, object_hash, frame, shape,
       CAST(polygon_index AS INTEGER) AS polygon_index,
       CAST(ring_index AS INTEGER) AS ring_index,
       CAST(vertex_index AS INTEGER) AS vertex_index,
       CAST(NULL AS TEXT) AS keypoint_name,
       CAST(NULL AS TEXT) AS keypoint_feature_hash,
       ring[2 * vertex_index + 1] AS x,
       ring[2 * vertex_index + 2] AS y
FROM ring_vertices
UNION ALL
SELECT label_hash, object_hash, frame, shape, 0, 0,
       CAST(vertex_index AS INTEGER),
       geometry -> CAST(vertex_index AS TEXT) ->> 'name',
       geometry -> CAST(vertex_index AS TEXT) ->> 'featureHash',
       point[1], point[2]
FROM points
