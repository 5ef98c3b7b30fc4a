"""What the frame job reads from and writes to the warehouse.

Reads: the videos and frames to extract (the `labeled_frames` view, or explicit frames of the
live videos in `label_rows`), what `extracted_frames` already holds, and the labels on each
frame (`frame_labels`) for the manifest. Writes: `extracted_frames` rows, one per object
written, always after the object exists; for a prune, deletes the rows of frames no longer
labeled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select, text

from connector import schema

ef = schema.extracted_frames


@dataclass(frozen=True)
class VideoWork:
    project_hash: str
    data_hash: str
    data_title: str | None
    data_link: str | None
    frames: tuple[int, ...]


def _filters(config, alias: str) -> tuple[str, dict]:
    sql, params = [f"{alias}.data_type = 'video'"], {}
    if config.titles:
        sql.append(f"{alias}.data_title IN :titles")
        params["titles"] = list(config.titles)
    if config.project_hash:
        sql.append(f"{alias}.project_hash = :project_hash")
        params["project_hash"] = config.project_hash
    if config.branch:
        sql.append(f"{alias}.branch_name = :branch")
        params["branch"] = config.branch
    return " AND ".join(sql), params


def _query(connection: Connection, sql: str, params: dict):
    statement = text(sql)
    if "titles" in params:
        statement = statement.bindparams(bindparam("titles", expanding=True))
    return connection.execute(statement, params).all()


def list_work(connection: Connection, config) -> list[VideoWork]:
    """Videos and their wanted frames, in (project_hash, data_hash) order.

    Default: every labeled frame (any live branch, or `config.branch`). With `config.frames`
    or a `config.start`..`config.end` range: exactly those frames of every selected video,
    labeled or not."""
    where, params = _filters(config, "lr")
    units = _query(connection, f"SELECT DISTINCT lr.project_hash, lr.data_hash, lr.data_title, "
                               f"lr.data_link FROM label_rows AS lr WHERE {where}", params)
    explicit = config.explicit_frames()
    if explicit is not None:
        wanted = {(u[0], u[1]): explicit for u in units}
    else:
        where, params = _filters(config, "lf")
        frames = defaultdict(set)
        for p, d, n in _query(connection, "SELECT DISTINCT lf.project_hash, lf.data_hash, "
                                          f"lf.frame FROM labeled_frames AS lf WHERE {where}",
                              params):
            frames[(p, d)].add(n)
        wanted = {key: tuple(sorted(v)) for key, v in frames.items()}
    return [VideoWork(p, d, title, link, wanted[(p, d)])
            for p, d, title, link in sorted(units, key=lambda u: (u[0], u[1]))
            if wanted.get((p, d))]


def claim(connection: Connection, work: VideoWork) -> bool:
    """Lock the video's data_units row for this transaction, skipping it when another worker
    holds it (Postgres). DuckDB has a single writer process: nothing to claim."""
    if connection.dialect.name != "postgresql":
        return True
    # the claim's transaction waits idle while ffmpeg runs: a role's idle_in_transaction_session_timeout ended it,
    # and with it every run (its videos recorded by none)
    connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
    du = schema.data_units
    row = connection.execute(
        select(du.c.data_hash)
        .where(du.c.project_hash == work.project_hash, du.c.data_hash == work.data_hash)
        .with_for_update(skip_locked=True)
    ).first()
    return row is not None


def claim_to_prune(connection: Connection, project_hash: str, data_hash: str) -> bool:
    """As `claim`; a video gone from data_units (deleted in Encord, then synced) has no row to
    claim and no worker extracting it."""
    if claim(connection, VideoWork(project_hash, data_hash, None, None, ())):
        return True
    du = schema.data_units
    return connection.execute(select(du.c.data_hash).where(
        du.c.project_hash == project_hash, du.c.data_hash == data_hash)).first() is None


def unlabeled_frames(connection: Connection, dest: str, project_hash: str | None) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """(project_hash, data_hash) -> (frame, format) of the images recorded under `dest` (of one
    project, or all) whose frame no live label row of that video labels any more."""
    sql = ("SELECT ef.project_hash, ef.data_hash, ef.frame, ef.format FROM extracted_frames AS ef "
           "WHERE ef.dest = :dest AND NOT EXISTS (SELECT 1 FROM labeled_frames AS lf "
           "WHERE lf.project_hash = ef.project_hash AND lf.data_hash = ef.data_hash "
           "AND lf.frame = ef.frame AND lf.data_type = 'video')")
    params = {"dest": dest}
    if project_hash:
        sql += " AND ef.project_hash = :project_hash"
        params["project_hash"] = project_hash
    videos = defaultdict(list)
    for p, d, frame, fmt in _query(connection, sql + " ORDER BY 1, 2, 3, 4", params):
        videos[(p, d)].append((frame, fmt))
    return dict(videos)


def projects_at(connection: Connection, dest: str, project_hash: str | None) -> list[str]:
    """The projects whose folders under `dest` a prune looks into: every project (or the one given) synced or
    with images recorded there (a project's first run may have been killed before any row). Another project's
    folder is another warehouse's."""
    sql = "SELECT project_hash FROM projects UNION SELECT project_hash FROM extracted_frames WHERE dest = :dest"
    params = {"dest": dest}
    if project_hash:
        sql = f"SELECT project_hash FROM ({sql}) AS known WHERE project_hash = :project_hash"
        params["project_hash"] = project_hash
    return sorted(connection.execute(text(sql), params).scalars())


def recorded_frames(connection: Connection, project_hash: str):
    """(data_hash, frame, format) of every image recorded for the project, under any dest, as they come."""
    return connection.execute(select(ef.c.data_hash, ef.c.frame, ef.c.format).where(
        ef.c.project_hash == project_hash).execution_options(yield_per=10_000))


def recorded_of_video(connection: Connection, project_hash: str, data_hash: str) -> list[tuple[int, str]]:
    """(frame, format) of the video's images recorded under any dest."""
    return connection.execute(select(ef.c.frame, ef.c.format).where(
        ef.c.project_hash == project_hash, ef.c.data_hash == data_hash)).all()


def forget(connection: Connection, dest: str, project_hash: str, data_hash: str, frames: list[tuple[int, str]]) -> None:
    """Delete these (frame, format) rows of one video under `dest`."""
    for fmt in {fmt for _, fmt in frames}:
        numbers = [frame for frame, frame_format in frames if frame_format == fmt]
        connection.execute(delete(ef).where(
            ef.c.dest == dest, ef.c.project_hash == project_hash, ef.c.data_hash == data_hash,
            ef.c.format == fmt, ef.c.frame.in_(numbers)))


def live_title(connection: Connection, project_hash: str, data_hash: str) -> str | None:
    return connection.execute(text("SELECT min(data_title) FROM label_rows WHERE project_hash = :p AND data_hash = :d"),
                              {"p": project_hash, "d": data_hash}).scalar()


def extracted(connection: Connection, dest: str, fmt: str, work: VideoWork) -> dict[int, str]:
    """frame -> video_fingerprint of what `extracted_frames` holds for this video."""
    rows = connection.execute(
        select(ef.c.frame, ef.c.video_fingerprint).where(
            ef.c.dest == dest, ef.c.project_hash == work.project_hash,
            ef.c.data_hash == work.data_hash, ef.c.format == fmt)
    ).all()
    return {frame: fp for frame, fp in rows}


def record(connection: Connection, dest: str, work: VideoWork, records, fingerprint: str,
           run_id: str, now) -> None:
    """Replace the rows of the frames just written (objects already exist)."""
    if not records:
        return
    forget(connection, dest, work.project_hash, work.data_hash, [(r.frame, r.format) for r in records])
    connection.execute(insert(ef), [
        {"dest": dest, "project_hash": work.project_hash, "data_hash": work.data_hash,
         "frame": r.frame, "format": r.format, "uri": r.uri, "sha256": r.sha256,
         "bytes": r.bytes, "width": r.width, "height": r.height, "timestamp_s": r.timestamp_s,
         "video_fingerprint": fingerprint, "run_id": run_id, "extracted_at": now}
        for r in records
    ])


def manifest_rows(connection: Connection, dest: str, work: VideoWork) -> list[dict]:
    """Every recorded frame of this video under `dest` (all formats), in frame order."""
    rows = connection.execute(
        select(ef).where(ef.c.dest == dest, ef.c.project_hash == work.project_hash,
                         ef.c.data_hash == work.data_hash)
        .order_by(ef.c.frame, ef.c.format)
    ).mappings().all()
    return [dict(row) for row in rows]


LABEL_COLUMNS = ("label_hash", "branch_name", "label_kind", "instance_hash", "feature_hash",
                 "name", "color", "shape", "x_px", "y_px", "w_px", "h_px", "theta",
                 "confidence", "answers")


def labels_by_frame(connection: Connection, work: VideoWork) -> dict:
    """frame -> the labels on it (frame_labels view), of every branch, for the manifest: one file per
    video, whichever branch a run extracted for."""
    sql = (f"SELECT frame, {', '.join(LABEL_COLUMNS)} FROM frame_labels "
           "WHERE project_hash = :p AND data_hash = :d")
    params = {"p": work.project_hash, "d": work.data_hash}
    out = defaultdict(list)
    for row in connection.execute(text(sql + " ORDER BY frame, label_hash, instance_hash"),
                                  params).mappings():
        out[row["frame"]].append({k: row[k] for k in LABEL_COLUMNS})
    return out
