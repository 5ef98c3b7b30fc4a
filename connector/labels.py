"""What the docs' "by frame" export scripts print, read from the views (`encord-warehouse labels`).

Per (label row, frame): the objects (hash, name, featureHash, uid, color, shape, pixel geometry,
attribute answers that hold on that frame) and the classifications with their answers. Every
value given by the user travels as a bind parameter; only constant SQL fragments are joined.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import Connection, Engine, bindparam, inspect, text

from connector.migrate import EMPTY_WAREHOUSE, refuse_other_applications
from connector.normalize import RANGE_TYPES

CSV_COLUMNS = (
    "data_title", "branch_name", "label_hash", "frame", "label_kind", "object_hash", "object_name",
    "feature_hash", "uid", "object_color", "ontology_shape", "x_px", "y_px", "w_px", "h_px", "theta",
    "classification_name", "classification_answer", "classification_hash", "classification_answer_hash",
    "attribute_name", "attribute_feature_hash", "attribute_answer", "attribute_answer_feature_hash",
)
_PIXEL_KEYS = ("x_px", "y_px", "w_px", "h_px", "x_max_px", "y_max_px", "theta", "rx_px", "ry_px")


class LabelsError(ValueError):
    """A `labels` request that cannot be answered (bad frame selection, unknown title)."""


@dataclass(frozen=True)
class LabelsQuery:
    """Which frames of which data unit: a range (start..end, inclusive) or a list of frames."""

    title: str
    """The data unit's title (data_units.data_title), e.g. 'video_0000.mp4'."""
    start: int | None = None
    end: int | None = None
    frames: tuple[tuple[int, int], ...] | None = None
    """Frame ranges (first, last), inclusive: ((10, 10), (30, 40)) is frames 10 and 30..40."""
    branch: str | None = None
    """Only this branch ('main' or an annotator branch); None: every branch."""
    project_hash: str | None = None
    data_hash: str | None = None
    """Which data unit, when more than one has the title (in several projects or datasets)."""

    def where(self) -> tuple[str, dict[str, Any], list]:
        """A constant WHERE clause, its bind values and any expanding bind parameters."""
        params, clauses = self.data_unit_where()
        expanding = []
        if self.frames is not None:
            if self.start is not None or self.end is not None:
                raise LabelsError("give either --start/--end or --frames, not both")
            if not self.frames:
                raise LabelsError("--frames needs at least one frame")
            clauses.append(_frames_clause(self.frames, params, expanding))
        elif self.start is not None and self.end is not None:
            if self.end < self.start:
                raise LabelsError(f"--end {self.end} is before --start {self.start}")
            clauses.append("frame BETWEEN :start AND :end")
            params.update(start=self.start, end=self.end)
        else:
            raise LabelsError("give --start and --end, or --frames")
        if self.branch is not None:
            clauses.append("branch_name = :branch")
            params["branch"] = self.branch
        return " AND ".join(clauses), params, expanding

    def data_unit_where(self) -> tuple[dict[str, Any], list[str]]:
        """The bind values and clauses that pick the data unit."""
        params: dict[str, Any] = {"title": self.title}
        clauses = ["data_title = :title"]
        for column in ("project_hash", "data_hash"):
            if getattr(self, column) is not None:
                clauses.append(f"{column} = :{column}")
                params[column] = getattr(self, column)
        return params, clauses


def _frames_clause(ranges: tuple[tuple[int, int], ...], params: dict[str, Any], expanding: list) -> str:
    """Single frames as one IN list, each longer range as a BETWEEN (never a list of its frames)."""
    singles = [first for first, last in ranges if first == last]
    spans = [(first, last) for first, last in ranges if first != last]
    clauses = []
    if singles:
        clauses.append("frame IN :frames")
        params["frames"] = singles
        expanding.append(bindparam("frames", expanding=True))
    for index, (first, last) in enumerate(spans):
        clauses.append(f"frame BETWEEN :first_{index} AND :last_{index}")
        params.update({f"first_{index}": first, f"last_{index}": last})
    return "(" + " OR ".join(clauses) + ")"


def _bytewise(connection: Connection, *columns: str) -> str:
    """An ORDER BY of text columns in byte order, as DuckDB sorts: Postgres sorts by the database's collation
    (en_US ignores case and punctuation), and the same labels printed in another order on the two."""
    collate = ' COLLATE "C"' if connection.dialect.name == "postgresql" else ""
    return ", ".join(f"{column}{collate}" for column in columns)


@contextmanager
def _one_snapshot(engine: Engine) -> Iterator[Connection]:
    """One transaction that sees the warehouse as of its first query (Postgres's REPEATABLE READ; DuckDB's every
    transaction): until 2026-11-30 a sync that committed between the labels' query and the vertices' printed one
    version's frames with another's vertices (none, for a row it deleted)."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def export_rows(engine: Engine, query: LabelsQuery) -> list[dict[str, Any]]:
    """labels_export rows of the selected frames with the object's pixel box, in print order."""
    with _one_snapshot(engine) as connection:
        return _export_rows(connection, query)


def _export_rows(connection: Connection, query: LabelsQuery) -> list[dict[str, Any]]:
    where, params, expanding = query.where()
    sql = text(
        "SELECT e.*, p.x_px, p.y_px, p.w_px, p.h_px, p.x_max_px, p.y_max_px, p.theta, p.rx_px, p.ry_px "
        "FROM (SELECT * FROM labels_export WHERE " + where + ") AS e "
        "LEFT JOIN object_frames_px AS p ON p.label_hash = e.label_hash AND p.object_hash = e.object_hash "
        "AND p.frame = e.frame "
        "ORDER BY " + _bytewise(connection, "e.branch_name", "e.label_hash") + ", e.frame, e.label_kind DESC, "
        + _bytewise(connection, "e.object_hash", "e.classification_hash") + ", e.answer_seq"
    ).bindparams(*expanding)
    _check_unit(connection, query)
    return [dict(row) for row in connection.execute(sql, params).mappings()]


def _vertex_rows(connection: Connection, query: LabelsQuery, label_hashes: list[str]) -> list[dict[str, Any]]:
    """The vertices of the selected frames of `label_hashes` (the label rows _export_rows found): the databases
    carry a constant label_hash into the view's unnesting, where the title alone had every vertex of the
    warehouse unnested."""
    where, params, expanding = query.where()
    sql = text(
        "SELECT label_hash, object_hash, frame, polygon_index, ring_index, vertex_index, x_px, y_px "
        "FROM object_vertices_px WHERE label_hash IN :label_hashes AND " + where + " "
        "ORDER BY " + _bytewise(connection, "label_hash", "object_hash") + ", frame, polygon_index, ring_index, "
        "vertex_index"
    ).bindparams(*expanding, bindparam("label_hashes", expanding=True))
    return [dict(row) for row in connection.execute(sql, {**params, "label_hashes": label_hashes}).mappings()]


def labels_by_frame(engine: Engine, query: LabelsQuery) -> list[dict[str, Any]]:
    """One dict per (label row, frame): objects and classifications with their attributes."""
    with _one_snapshot(engine) as connection:
        rows = _export_rows(connection, query)
        frames = _frames_of(rows)
        _attach_vertices(frames, _vertex_rows(connection, query, sorted({label_hash for _, label_hash, _ in frames})))
    return [
        {**frame, "objects": list(frame["objects"].values()), "classifications": list(frame["classifications"].values())}
        for frame in frames.values()
    ]


def _frames_of(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    frames: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = (row["branch_name"], row["label_hash"], row["frame"])
        frame = frames.get(key)
        if frame is None:
            frame = frames[key] = {
                "data_title": row["data_title"], "project_hash": row["project_hash"], "data_hash": row["data_hash"],
                "label_hash": row["label_hash"],
                "branch_name": row["branch_name"], "frame": row["frame"], "objects": {}, "classifications": {},
            }
        if row["label_kind"] == "object":
            entry = frame["objects"].setdefault(row["object_hash"], _object_entry(row))
        else:
            entry = frame["classifications"].setdefault(row["classification_hash"], _classification_entry(row))
        if row["attribute_feature_hash"] is not None:
            entry["attributes"].append({
                "name": row["attribute_name"], "featureHash": row["attribute_feature_hash"],
                "answer": row["attribute_answer"], "answerFeatureHash": row["attribute_answer_feature_hash"],
            })
    return frames


def csv_rows(rows: Iterable[dict[str, Any]]) -> Iterable[list[Any]]:
    yield list(CSV_COLUMNS)
    for row in rows:
        yield [row.get(column) for column in CSV_COLUMNS]


def _object_entry(row: dict[str, Any]) -> dict[str, Any]:
    pixels = {key: row[key] for key in _PIXEL_KEYS if row.get(key) is not None}
    return {
        "objectHash": row["object_hash"], "name": row["object_name"], "featureHash": row["feature_hash"],
        "uid": row["uid"], "color": row["object_color"], "shape": row["ontology_shape"],
        "pixels": pixels, "attributes": [],
    }


def _classification_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "classificationHash": row["classification_hash"], "name": row["classification_name"],
        "featureHash": row["feature_hash"], "uid": row["uid"], "attributes": [],
    }


def _attach_vertices(frames: dict[tuple, dict[str, Any]], vertices: list[dict[str, Any]]) -> None:
    """vertices_px: polygons -> rings -> [x, y] pixel pairs (one polygon, one ring for lines/points)."""
    by_object: dict[tuple, list] = {}
    for vertex in vertices:
        polygons = by_object.setdefault((vertex["label_hash"], vertex["object_hash"], vertex["frame"]), [])
        while len(polygons) <= vertex["polygon_index"]:
            polygons.append([])
        rings = polygons[vertex["polygon_index"]]
        while len(rings) <= vertex["ring_index"]:
            rings.append([])
        rings[vertex["ring_index"]].append([vertex["x_px"], vertex["y_px"]])
    for frame in frames.values():
        for object_hash, entry in frame["objects"].items():
            polygons = by_object.get((frame["label_hash"], object_hash, frame["frame"]))
            if polygons is not None:
                entry["vertices_px"] = polygons


def _check_unit(connection, query: LabelsQuery) -> None:
    """One data unit has the title (of the project and data hash given): until 2026-11-29 the labels of every
    data unit so titled were printed together, in CSV with nothing to tell them apart."""
    refuse_other_applications(connection)
    if not inspect(connection).has_table("data_units"):
        raise LabelsError(EMPTY_WAREHOUSE)
    params, clauses = query.data_unit_where()
    live = ("EXISTS (SELECT 1 FROM branches AS b WHERE b.project_hash = u.project_hash AND b.data_hash = u.data_hash "
            "AND b.deleted_at IS NULL)")  # as the views: label rows marked deleted (--keep-deleted) are left out
    found = connection.execute(text("SELECT project_hash, data_hash, data_type FROM data_units AS u WHERE "
                                    + " AND ".join([*clauses, live]) + " ORDER BY project_hash, data_hash"), params).all()
    title = query.title
    if not found:
        given = "".join(f" {option} {value}" for option, value in (("--project-hash", query.project_hash),
                                                                   ("--data-hash", query.data_hash)) if value)
        raise LabelsError(f"no data unit titled {title!r} in the warehouse" + (f" with{given}" if given else ""))
    if len(found) > 1:
        units = ", ".join(f"project {project} data {data}" for project, data, _ in found[:3])
        options = "--project-hash" if len({data for _, data, _ in found}) == 1 else "--project-hash or --data-hash"
        raise LabelsError(f"{len(found)} data units are titled {title!r} ({units}{', ...' if len(found) > 3 else ''}): "
                          f"choose one with {options}")
    if found[0].data_type in RANGE_TYPES:
        raise LabelsError(f"{title!r} is {found[0].data_type}, labeled by ranges, not frames: its labels are in the view range_labels")
