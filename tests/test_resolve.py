"""sync_errors.resolved_at: a run marks the recorded problems it found gone. The decision alone (pure),
then export syncs, rebuild and the frames job on DuckDB and Postgres (the Encord sync: tests/faults/
test_bad_input.py)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from connector.frames.job import ExtractFramesConfig, extract_frames
from connector.resolve import ExportListing, OpenProblem, RunDid, gone_problems
from tests.readme_examples import blocks
from tests.test_frames_job import clips, label_row  # noqa: F401  (fixture: the test videos)
from tests.test_sync_export import SAMPLE, run_cli


def problem(error_id, label_hash=None, source=None, *, run_id="earlier", kept=False, title=None, project="p",
            export="/x", field=None):
    field = field or ("object_frames.problems" if kept else "data_units")
    return OpenProblem(error_id, run_id, project, label_hash, source, title, kept, export, field)


OBJECT_FLAGS, CLASSIFICATION_FLAGS = "object_frames.problems", "classifications.problems"


def listed(*files, export="/x", unlisted=()):
    return RunDid(listing=ExportListing(export, files, unlisted))


@pytest.mark.parametrize("open_problem, did, flagged, gone", [
    (problem("q", "L"), RunDid(read={"L"}), (), True),  # read again, not recorded again
    (problem("q", "L"), RunDid(read={"M"}), (), False),
    (problem("q", "L"), RunDid(deleted={"L"}), (), True),
    (problem("q", "L", run_id="now"), RunDid(read={"L"}), (), False),  # recorded by this run: failing still
    (problem("k", "L", kept=True), RunDid(read={"L"}), {("L", OBJECT_FLAGS)}, False),  # stored with its flags still
    (problem("k", "L", kept=True), RunDid(read={"L"}), (), True),  # rewritten without them
    (problem("k", "L", kept=True), RunDid(read={"L"}), {("L", CLASSIFICATION_FLAGS)}, True),  # flags of another table
    (problem("k", "L", kept=True, field=CLASSIFICATION_FLAGS), RunDid(read={"L"}), {("L", CLASSIFICATION_FLAGS)}, False),
    (problem("k", "L", kept=True, field=CLASSIFICATION_FLAGS), RunDid(read={"L"}), {("L", OBJECT_FLAGS)}, True),
    (problem("k", "L", kept=True), RunDid(), (), False),  # not read: nothing known
    (problem("k", "L", kept=True), RunDid(deleted={"L"}), {("L", OBJECT_FLAGS)}, True),  # marked deleted, flags and all
    (problem("f", None, "day/b.json"), RunDid(files_read={"day/b.json"}), (), True),
    (problem("f", None, "day/b.json[3]"), RunDid(files_read={"day/b.json"}), (), True),  # a row without a label hash
    (problem("f", None, "day/b.json:12"), RunDid(files_read={"day/b.json"}), (), True),  # a JSON Lines line
    (problem("f", None, "day/b.json"), RunDid(files_read={"day/b.jsonl", "b.json"}), (), False),
    (problem("f", None, "b.json"), RunDid(files_read={"b.json"}, listing=ExportListing("/y", ("b.json",), ())), (),
     False),  # another export's file of the same name, read whole
    (problem("f", None, "b.json"), RunDid(files_read={"b.json"}, listing=ExportListing("/x", ("b.json",), ())), (),
     True),
    (problem("f", None, "b.json", export=None), RunDid(files_read={"b.json"}, listing=ExportListing("/y", ("b.json",), ())),
     (), True),  # recorded before 0009: its export is not known, its file name is
    (problem("f", None, "day/"), RunDid(files_read={"day/b.json"}), (), False),  # a directory not listed
    (problem("v", None, "extract-frames", title="a.mp4"), RunDid(videos_done={("p", "a.mp4")}), (), True),
    (problem("v", None, "extract-frames", title="a.mp4"), RunDid(videos_done={("p", "b.mp4")}), (), False),
    (problem("v", None, "extract-frames", title="a.mp4"), RunDid(videos_done={("q", "a.mp4")}), (), False),
    (problem("v", None, "extract-frames", title="a.mp4"), RunDid(files_read={"extract-frames"}), (), False),
    (problem("f", None, "b.json"), listed("a.json"), (), True),  # deleted from the export's folder
    (problem("f", None, "b.json[3]"), listed("a.json"), (), True),
    (problem("f", None, "b.json"), listed("a.json", "b.json"), (), False),  # there still, not read again
    (problem("f", None, "b.json:12"), listed("b.json"), (), False),
    (problem("f", None, "b.json"), listed("a.json", export="/y"), (), False),  # another export's file
    (problem("f", None, "b.json", export=None), listed("a.json"), (), False),  # recorded before 0009: not known
    (problem("f", None, "day/b.json"), listed("a.json", unlisted={"day"}), (), False),  # its folder not listed
    (problem("f", None, "day/"), listed("day/b.json"), (), True),  # a folder that could not be listed, listed now
    (problem("f", None, "day/"), listed("day/b.json", unlisted={"day"}), (), False),
    (problem("v", None, "extract-frames", title="a.mp4"), listed("a.json"), (), False),
    (problem("q", "L"), RunDid(read={"M"}, every_row=True), (), True),  # not in an export of every row
    (problem("k", "L", kept=True), RunDid(read={"L"}, every_row=True), {("L", OBJECT_FLAGS)}, False),
])
def test_which_problems_a_run_found_gone(open_problem, did, flagged, gone):
    assert gone_problems([open_problem], "now", did, flagged) == ([open_problem.error_id] if gone else [])


OPEN = "SELECT label_hash, field, source FROM sync_errors WHERE resolved_at IS NULL ORDER BY field"


def test_an_export_sync_resolves_what_it_finds_fixed_and_a_problem_back_is_open_again(warehouse, tmp_path):
    """A quarantined row, a row kept with flagged coordinates and a broken file stay open while they are
    as they were (a re-run records them again); fixed, each is resolved by the run that reads it, and the
    rows stay as history. The same problem back later is a new open row."""
    rows = json.loads(SAMPLE.read_text())
    image = next(row for row in rows if next(iter(row["data_units"].values()))["data_type"].startswith("image"))
    bad, flagged = json.loads(json.dumps(rows[0])), json.loads(json.dumps(image))
    bad["data_units"] = "not a dict"
    box = next(o for o in next(iter(flagged["data_units"].values()))["labels"]["objects"] if "boundingBox" in o)
    box["boundingBox"]["x"] = 1.5
    others = [row for row in rows if row["label_hash"] not in (bad["label_hash"], flagged["label_hash"])]
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([bad, flagged, *others[:2]]))
    (folder / "b.json").write_text("hello")
    sync = ("sync", "--from-export", str(folder), "--project-hash", "p")
    for _ in range(2):
        assert run_cli(warehouse, *sync).exit_code == 1
        assert warehouse.rows(OPEN) == [(None, "<json>", "b.json"), (bad["label_hash"], "data_units", "a.json[0]"),
                                        (flagged["label_hash"], "object_frames.problems", "a.json[1]")]
    failing_now = next(sql for sql in blocks("sql") if "resolved_at IS NULL" in sql)  # the README's query
    assert sorted(((label_hash, field) for _, label_hash, _, field, *_ in warehouse.rows(failing_now)), key=repr) == sorted(
        [(bad["label_hash"], "data_units"), (flagged["label_hash"], "object_frames.problems"), (None, "<json>")], key=repr)
    warehouse.engine.dispose()  # DuckDB: status opens the file read-only, which no open writer may hold
    assert json.loads(run_cli(warehouse, "status", "--format", "json").output)["open_problems"] == 3

    box["boundingBox"]["x"] = 0.5
    (folder / "a.json").write_text(json.dumps([rows[0], flagged, *others[:2]]))
    (folder / "b.json").write_text(json.dumps(others[2:]))
    fixed = run_cli(warehouse, *sync)
    assert fixed.exit_code == 0, fixed.output
    fixing_run = warehouse.rows("SELECT run_id, finished_at FROM sync_runs ORDER BY started_at DESC LIMIT 1")[0]
    assert warehouse.rows(OPEN) == []
    warehouse.engine.dispose()
    assert "open problems: 0 (sync_errors WHERE resolved_at IS NULL)" in run_cli(warehouse, "status").output.splitlines()
    resolved = warehouse.rows("SELECT resolved_at FROM sync_errors")
    assert len(resolved) == 3 and all(fixing_run[1] >= at is not None for (at,) in resolved)
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE problems IS NOT NULL") == 0

    (folder / "b.json").write_text("hello again")
    assert run_cli(warehouse, *sync).exit_code == 1
    assert warehouse.rows(OPEN) == [(None, "<json>", "b.json")]
    history = warehouse.rows("SELECT resolved_at IS NULL, first_occurred_at = occurred_at FROM sync_errors "
                             "WHERE source = 'b.json' ORDER BY resolved_at NULLS LAST")
    assert history == [(False, False), (True, True)]  # the earlier row kept; the new one first seen now


def test_delete_missing_resolves_the_problems_of_the_rows_it_removes(warehouse, tmp_path):
    rows = json.loads(SAMPLE.read_text())
    export = tmp_path / "export.json"
    export.write_text(json.dumps(rows))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    broken = json.loads(json.dumps(rows[0]))
    broken["data_units"] = "not a dict"
    export.write_text(json.dumps([broken, *rows[1:]]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 1
    assert warehouse.rows(OPEN) == [(rows[0]["label_hash"], "data_units", "export.json[0]")]
    export.write_text(json.dumps(rows[1:]))  # deleted in Encord: the stored version goes, and its problem
    assert run_cli(warehouse, "sync", "--from-export", str(export), "--delete-missing").exit_code == 0
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=rows[0]["label_hash"]) == 0
    assert warehouse.rows(OPEN) == []


def test_a_rebuild_resolves_its_own_problems_once_the_row_rebuilds(warehouse, tmp_path):
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE)).exit_code == 0
    label_hash = json.loads(SAMPLE.read_text())[0]["label_hash"]
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(f"DELETE FROM raw_label_rows WHERE label_hash = '{label_hash}'")
    assert run_cli(warehouse, "rebuild").exit_code == 1
    assert warehouse.rows(OPEN) == [(label_hash, "raw_label_rows", "rebuild")]
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--full-refresh").exit_code == 0  # archived again
    assert warehouse.rows(OPEN) == [(label_hash, "raw_label_rows", "rebuild")]  # a rebuild's: not the sync's to say
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert warehouse.rows(OPEN) == []


def test_a_damaged_archive_is_that_rows_problem_and_the_rest_rebuilds(warehouse, tmp_path):
    """A part of one row's archive gone (first, middle or last), another's JSON cut: each is recorded and keeps
    its tables; every other row is rebuilt (here: names put back after they were overwritten)."""
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE)).exit_code == 0
    parts = dict(warehouse.rows("SELECT label_hash, count(*) FROM raw_label_rows GROUP BY label_hash"))
    long_rows = sorted(label_hash for label_hash, count in parts.items() if count >= 3)
    assert len(long_rows) >= 2
    gap, cut = long_rows[:2]
    with warehouse.engine.begin() as connection:
        connection.execute(text("DELETE FROM raw_label_rows WHERE label_hash = :h AND part = 1"), {"h": gap})
        connection.execute(text("DELETE FROM raw_label_rows WHERE label_hash = :h AND part = :p"),
                           {"h": cut, "p": parts[cut] - 1})
        connection.execute(text("UPDATE objects SET name = 'stale'"))
    assert run_cli(warehouse, "rebuild").exit_code == 1
    problems = {label_hash: (field, reason) for label_hash, field, reason in warehouse.rows(
        "SELECT label_hash, field, reason FROM sync_errors WHERE resolved_at IS NULL")}
    assert problems[gap] == ("raw_label_rows", "the archive is damaged: parts of it are missing")
    assert problems[cut][0] == "raw_label_rows" and problems[cut][1].startswith("the archived JSON does not parse: ")
    assert set(problems) == {gap, cut}
    stale = {label_hash for (label_hash,) in warehouse.rows("SELECT DISTINCT label_hash FROM objects WHERE name = 'stale'")}
    assert stale == {gap, cut}  # kept as they were; every other row rebuilt
    assert warehouse.rows("SELECT DISTINCT project_hash FROM sync_errors") == [("export",)]


def test_a_rebuilds_problem_is_resolved_when_its_row_is_deleted(warehouse, tmp_path):
    rows = json.loads(SAMPLE.read_text())
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE)).exit_code == 0
    with warehouse.engine.begin() as connection:
        connection.execute(text("DELETE FROM raw_label_rows WHERE label_hash = :h"), {"h": rows[0]["label_hash"]})
    assert run_cli(warehouse, "rebuild").exit_code == 1
    assert warehouse.rows(OPEN) == [(rows[0]["label_hash"], "raw_label_rows", "rebuild")]
    export = tmp_path / "without.json"
    export.write_text(json.dumps(rows[1:]))
    assert run_cli(warehouse, "sync", "--from-export", str(export), "--delete-missing").exit_code == 0
    assert warehouse.rows(OPEN) == []


def test_a_video_found_again_resolves_its_problem_and_another_stays(warehouse, tmp_path, clips):  # noqa: F811
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("a.mp4", "dh-a", [3]), label_row("b.mkv", "dh-b", [4])]))
    assert run_cli(warehouse, "sync", "--from-export", str(export), "--project-hash", "proj-1").exit_code == 0
    media = tmp_path / "media"
    media.mkdir()
    config = ExtractFramesConfig(dest=str(tmp_path / "dest"), media_root=str(media))
    missing = extract_frames(warehouse.engine, config)
    assert [failure.data_title for failure in missing.failures] == ["a.mp4", "b.mkv"]
    opened = "SELECT data_title FROM sync_errors WHERE resolved_at IS NULL ORDER BY data_title"
    assert warehouse.rows(opened) == [("a.mp4",), ("b.mkv",)]
    (media / "a.mp4").write_bytes((clips / "a.mp4").read_bytes())
    found = extract_frames(warehouse.engine, config)
    assert (found.written, [failure.data_title for failure in found.failures]) == (1, ["b.mkv"])
    assert warehouse.rows(opened) == [("b.mkv",)]


def test_a_broken_file_deleted_from_its_folder_is_resolved_by_the_next_sync_of_that_folder(warehouse, tmp_path):
    """Only by a sync of the same export: another folder synced into the project, without that file,
    leaves the problem open. The run records its export in sync_runs.export."""
    rows = json.loads(SAMPLE.read_text())
    folder, other = tmp_path / "exports", tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    (folder / "a.json").write_text(json.dumps(rows[:2]))
    (folder / "b.json").write_text("hello")
    (other / "c.json").write_text(json.dumps(rows[2:3]))
    assert run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p").exit_code == 1
    assert warehouse.rows(OPEN) == [(None, "<json>", "b.json")]
    assert warehouse.rows("SELECT export FROM sync_runs") == [(str(folder),)]
    (folder / "b.json").unlink()
    assert run_cli(warehouse, "sync", "--from-export", str(other), "--project-hash", "p").exit_code == 0
    assert warehouse.rows(OPEN) == [(None, "<json>", "b.json")]
    assert run_cli(warehouse, "sync", "--from-export", str(folder / "a.json"), "--project-hash", "p").exit_code == 0
    assert warehouse.rows(OPEN) == [(None, "<json>", "b.json")]  # a file of the folder is another export
    assert run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p").exit_code == 0
    assert warehouse.rows(OPEN) == []
    assert warehouse.scalar("SELECT count(*) FROM sync_errors WHERE resolved_at IS NOT NULL") == 1


def test_a_file_of_another_export_with_the_same_name_resolves_nothing(warehouse, tmp_path):
    """Dated folders each holding export.json: a clean one read whole leaves the other's problem open."""
    rows = json.loads(SAMPLE.read_text())
    monday, tuesday = tmp_path / "monday", tmp_path / "tuesday"
    monday.mkdir()
    tuesday.mkdir()
    (monday / "export.json").write_text(json.dumps([rows[0], "not a label row"]))
    (tuesday / "export.json").write_text(json.dumps(rows[1:3]))
    assert run_cli(warehouse, "sync", "--from-export", str(monday), "--project-hash", "p").exit_code == 1
    assert warehouse.rows(OPEN) == [(None, "<row>", "export.json[1]")]
    assert run_cli(warehouse, "sync", "--from-export", str(tuesday), "--project-hash", "p").exit_code == 0
    assert warehouse.rows(OPEN) == [(None, "<row>", "export.json[1]")]
    (monday / "export.json").write_text(json.dumps([rows[0]]))
    assert run_cli(warehouse, "sync", "--from-export", str(monday), "--project-hash", "p").exit_code == 0
    assert warehouse.rows(OPEN) == []


def test_a_row_never_loaded_and_gone_from_an_export_of_every_row_is_resolved(warehouse, tmp_path):
    """A quarantined row was never stored, so --delete-missing has nothing of it to delete; that the
    export no longer holds it resolves its problem all the same. Not when the export is read in part."""
    rows = json.loads(SAMPLE.read_text())
    broken = {**json.loads(json.dumps(rows[0])), "label_hash": "never-loaded", "data_units": "not a dict"}
    export = tmp_path / "export.json"
    export.write_text(json.dumps([broken, *rows]))
    sync = ("sync", "--from-export", str(export), "--delete-missing")
    assert run_cli(warehouse, *sync).exit_code == 1
    assert warehouse.rows(OPEN) == [("never-loaded", "data_units", "export.json[0]")]
    export.write_text(json.dumps(rows))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0  # not every row: proves nothing
    assert warehouse.rows(OPEN) == [("never-loaded", "data_units", "export.json[0]")]
    export.write_text(json.dumps([*rows, {"no": "label hash"}]))
    assert run_cli(warehouse, *sync).exit_code == 1  # part of it unreadable: proves nothing
    assert ("never-loaded", "data_units", "export.json[0]") in warehouse.rows(OPEN)
    export.write_text(json.dumps(rows))
    assert run_cli(warehouse, *sync).exit_code == 0
    assert warehouse.rows(OPEN) == []
