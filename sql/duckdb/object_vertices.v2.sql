-- object_vertices (DuckDB): the JSON vertex lists of object_frames unnested, normalized 0..1, of live label rows
-- (v2: v1 kept those deleted in Encord, as --keep-deleted leaves them in the tables).
-- The Postgres twin (sql/postgresql/) differs only in how JSON arrays are unnested.
CREATE VIEW object_vertices AS
SELECT t.label_hash, t.object_hash, t.frame, t.shape,
       CAST(p.n - 1 AS INTEGER) AS polygon_index,
       CAST(r.n - 1 AS INTEGER) AS ring_index,
       CAST(k.i AS INTEGER) AS vertex_index,
       CAST(NULL AS TEXT) AS keypoint_name,
       CAST(NULL AS TEXT) AS keypoint_feature_hash,
       r.ring[2 * k.i + 1] AS x,
       r.ring[2 * k.i + 2] AS y
FROM (SELECT label_hash, object_hash, frame, shape, CAST(rings AS DOUBLE[][][]) AS polygons
      FROM object_frames AS o WHERE rings IS NOT NULL AND NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = o.label_hash AND d.deleted_at IS NOT NULL)) AS t,
     unnest(t.polygons) WITH ORDINALITY AS p(polygon, n),
     unnest(p.polygon) WITH ORDINALITY AS r(ring, n),
     generate_series(0, len(r.ring) // 2 - 1) AS k(i)
UNION ALL
SELECT t.label_hash, t.object_hash, t.frame, t.shape, 0, 0,
       CAST(v.n - 1 AS INTEGER),
       t.geometry -> CAST(v.n - 1 AS TEXT) ->> 'name',
       t.geometry -> CAST(v.n - 1 AS TEXT) ->> 'featureHash',
       v.point[1], v.point[2]
FROM (SELECT label_hash, object_hash, frame, shape, geometry, CAST(points AS DOUBLE[][]) AS points
      FROM object_frames AS o WHERE points IS NOT NULL AND rings IS NULL
        AND NOT EXISTS (SELECT 1 FROM branches AS d WHERE d.label_hash = o.label_hash AND d.deleted_at IS NOT NULL)) AS t,
     unnest(t.points) WITH ORDINALITY AS v(point, n)
