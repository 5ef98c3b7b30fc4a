"""Reading Encord export files: arrays (streamed), JSON Lines, single objects, directories."""

from __future__ import annotations

import gzip
import json
import math
import os
import pickle
import pwd
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import orjson
import pytest

from connector.sources import SourceRow, export, lossless_json, parse_json
from connector.sources.export import ExportError, read_export, read_ontology

ROWS = [{"label_hash": f"lh-{i}", "n": i} for i in range(5)]


def labels(path):
    return [item.parsed()["label_hash"] for item in read_export(path)]


def test_json_array(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(ROWS, indent=2))
    items = list(read_export(path))
    assert [item.parsed() for item in items] == ROWS
    assert items[3].location == "export.json[3]"
    assert all(item.row is None and item.text is not None for item in items)  # parsed where normalized, not here


TRICKY = [
    {"label_hash": "lh-0", "data_title": '}, {"label_hash": "not a row"}', "data_units": {"d": {"labels": {}}}},
    {"label_hash": "lh-1", "nested": [{"label_hash": "inner"}, {"x": [1.5, {"y": None}]}], "note": "\\\"}, {"},
    {"label_hash": "lh-2", "data_title": "caf\u00e9 \u2603", "n": 2},
] * 7


@pytest.mark.parametrize("indent", [None, 2])
def test_array_read_in_chunks_equals_json_loads(tmp_path, monkeypatch, indent):
    """Chunks far smaller than a row, cut candidates inside strings and nested objects: the rows
    come out exactly as json.loads reads them, in order, with their positions."""
    monkeypatch.setattr(export, "_CHUNK", 37)
    monkeypatch.setattr(export, "_stream_array", None)  # every row through the chunked path
    path = tmp_path / "export.json"
    path.write_text(json.dumps(TRICKY, indent=indent))
    items = list(read_export(path))
    assert [item.parsed() for item in items] == json.loads(path.read_text())
    assert [item.location for item in items] == [f"export.json[{i}]" for i in range(len(TRICKY))]


def test_rows_in_another_key_order_are_streamed(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "_CHUNK", 64)
    monkeypatch.setattr(export, "_MAX_BUFFER", 256)
    path = tmp_path / "sorted.json"
    path.write_text(json.dumps(TRICKY, sort_keys=True))
    assert [item.parsed() for item in read_export(path)] == json.loads(path.read_text())


@pytest.mark.parametrize("indent", [None, 2])
def test_a_row_larger_than_the_buffer_comes_as_its_text(tmp_path, monkeypatch, indent):
    """A long video's label row can pass _MAX_BUFFER on its own: it is held as text until it ends,
    not streamed by ijson into a dict many times its size (a 113 MB row: 28.2 s and 2.6 GB that way,
    5.5 s and 1.2 GB now), and the raw archive keeps the text the file has."""
    monkeypatch.setattr(export, "_CHUNK", 64)
    monkeypatch.setattr(export, "_MAX_BUFFER", 256)
    monkeypatch.setattr(export, "_stream_array", None)  # fails if any row takes the ijson path

    def big(name):
        return {"label_hash": name, "labels": {str(f): {"objects": [{"x": f / 7}]} for f in range(60)}}

    rows = [{"label_hash": "lh-0", "n": 0}, big("big-1"), {"label_hash": "lh-2"}, big("big-3")]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(rows, indent=indent))
    items = list(read_export(path))
    assert [item.parsed() for item in items] == rows
    assert all(item.row is None for item in items) and len(items[1].text) > 256 and len(items[3].text) > 256


@pytest.mark.parametrize("shift", range(64))
def test_after_a_row_past_the_buffer_rows_that_cannot_be_cut_apart_are_streamed(tmp_path, monkeypatch, shift):
    """Past _MAX_BUFFER the text is held only while it is one row. A long row is (its text comes as
    read); the two rows after it cannot be cut apart (over 256 bytes of white space before the comma
    between them), so they are streamed by ijson and come parsed, not as text. The reader looks only
    at what it read since its last look, so this holds wherever the reads fall (`shift` moves every
    byte after the long row across all 64 positions of a read) and after an earlier row passed the
    buffer."""
    monkeypatch.setattr(export, "_CHUNK", 64)
    monkeypatch.setattr(export, "_MAX_BUFFER", 256)
    rows = [{"label_hash": "long", "pad": "x" * (400 + shift)}, {"label_hash": "c"}, {"label_hash": "d"}]
    path = tmp_path / "export.json"
    path.write_text(f"[{json.dumps(rows[0])}, {json.dumps(rows[1])}{' ' * 260}, {json.dumps(rows[2])}]")
    items = list(read_export(path))
    assert [item.parsed() for item in items] == rows
    assert [item.text is not None for item in items] == [True, False, False]
    assert [item.location for item in items] == ["export.json[0]", "export.json[1]", "export.json[2]"]


def test_nan_in_an_array_is_read_as_a_number(tmp_path):
    rows = [{"label_hash": "lh-0", "x": float("nan")}, {"label_hash": "lh-1", "x": float("inf")}]
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(rows))
    x = [item.parsed()["x"] for item in read_export(path)]
    assert math.isnan(x[0]) and x[1] == math.inf


def test_array_is_streamed_rows_arrive_before_a_broken_tail(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(ROWS)[:-10])  # inside the last row
    reader = read_export(path)
    assert [next(reader).parsed() for _ in ROWS[:-1]] == ROWS[:-1]
    with pytest.raises(ExportError, match=r"broken.json: invalid JSON in item 4: \S") as raised:
        list(reader)
    assert "\n" not in str(raised.value)


def test_json_lines_are_handed_over_line_by_line_unparsed(tmp_path):
    """A bad line is found where rows are parsed (test_sync_export checks it is recorded), not here."""
    path = tmp_path / "rows.jsonl"
    lines = [json.dumps(row) for row in ROWS]
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n\n")
    items = list(read_export(path))
    assert [item.location for item in items] == [f"rows.jsonl:{n}" for n in range(1, 7)]
    assert items[2].text == b"{not json" and items[2].row is None
    with pytest.raises(ValueError):
        items[2].parsed()
    assert [item.parsed() for item in items[:2] + items[3:]] == ROWS


@pytest.mark.parametrize("head", [b"\n", b"\r\n\n", b"\xef\xbb\xbf\n", b"{not json\n"],
                         ids=["blank", "blank-crlf", "bom-blank", "bad-first-line"])
def test_json_lines_whose_first_line_is_blank_or_bad(tmp_path, head):
    """The first line decides nothing: the rows after a blank or broken first line are read, and a
    broken line is one row's problem, not the file's."""
    path = tmp_path / "rows.jsonl"
    path.write_bytes(head + b"\n".join(json.dumps(row).encode() for row in ROWS) + b"\n")
    items = list(read_export(path))
    good = [item for item in items if item.text != b"{not json"]
    assert [item.parsed() for item in good] == ROWS
    offset = head.count(b"\n")
    assert [item.location for item in good] == [f"rows.jsonl:{n + offset + 1}" for n in range(len(ROWS))]
    assert len(items) - len(good) == (head == b"{not json\n")


@pytest.mark.parametrize("name", ["rows.json", "rows.jsonl", "rows.jsonl.gz"])
def test_megabytes_of_white_space_before_the_json_are_read_through(tmp_path, name):
    """A MB of white space (blank lines) before the rows: read in chunks, the rows after it with their line
    numbers. Until 2026-11-29 it was read a byte at a time, each time looking at all read so far: 400 KB took
    26 s, and a small .gz of blank lines did not finish."""
    lines = name.startswith("rows.jsonl")
    text = b"\n" * 1_000_000 + (b"\n".join(json.dumps(row).encode() for row in ROWS) if lines else json.dumps(ROWS).encode())
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    items = list(read_export(path))
    assert [item.parsed() for item in items] == ROWS
    assert [item.location for item in items] == ([f"{name}:{1_000_001 + n}" for n in range(len(ROWS))] if lines
                                                 else [f"{name}[{n}]" for n in range(len(ROWS))])


def test_a_broken_single_object_is_refused_whole(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(ROWS[0], indent=2)[:-5])
    with pytest.raises(ExportError, match=r"one.json: invalid JSON"):
        list(read_export(path))


def test_single_pretty_printed_object(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(ROWS[0], indent=2))
    assert labels(path) == ["lh-0"]


@pytest.mark.parametrize("name, body", [
    ("array.json", json.dumps(ROWS, indent=2).encode()),
    ("rows.jsonl", b"\r\n".join(json.dumps(row).encode() for row in ROWS) + b"\r\n"),
    ("one.json", json.dumps(ROWS[0], indent=2).encode()),
], ids=["array", "json-lines-crlf", "one-object"])
def test_a_utf8_byte_order_mark_before_the_json_is_skipped(tmp_path, name, body):
    """Some Windows tools (PowerShell 5's UTF-8) write one; no row text keeps it or a line's CR."""
    plain, marked = tmp_path / "plain" / name, tmp_path / "marked" / name
    for path, data in ((plain, body), (marked, b"\xef\xbb\xbf" + body)):
        path.parent.mkdir()
        path.write_bytes(data)
    expected = [(item.parsed(), item.text) for item in read_export(plain)]
    got = [(item.parsed(), item.text) for item in read_export(marked)]
    assert got == expected and [row for row, _ in got] == (ROWS if name != "one.json" else [ROWS[0]])
    assert all(text is None or (not text.startswith(b"\xef") and not text.endswith(b"\r")) for _, text in got)


# "\U0001f697" and "\U0001f600" are surrogate pairs in UTF-16
WIDE = [*TRICKY, {"label_hash": "lh-9", "data_title": "\U0001f697 \u00e9\u2603 \U0001f600", "n": 9}]


@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-16-le").join([b"\xff\xfe", b""]),
    lambda text: text.encode("utf-16-be").join([b"\xfe\xff", b""]),
    lambda text: gzip.compress(text.encode("utf-16")),
], ids=["little-endian", "big-endian", "gzip"])
@pytest.mark.parametrize("name, text", [
    ("array.json", json.dumps(WIDE, ensure_ascii=False, indent=2)),
    ("rows.jsonl", "\n".join(json.dumps(row, ensure_ascii=False) for row in WIDE)),
    ("one.json", json.dumps(WIDE[-1], ensure_ascii=False)),
], ids=["array", "json-lines", "one-object"])
def test_utf16_with_its_byte_order_mark_reads_as_the_utf8_file(tmp_path, monkeypatch, encode, name, text):
    """Windows PowerShell 5's `>` writes UTF-16 with a byte order mark. Reads of 37 bytes split
    characters and surrogate pairs; the rows' texts (archived, fingerprinted) are the UTF-8 file's."""
    monkeypatch.setattr(export, "_CHUNK", 37)
    utf8, utf16 = tmp_path / "utf8" / name, tmp_path / "utf16" / name
    for path, data in ((utf8, text.encode()), (utf16, encode(text))):
        path.parent.mkdir()
        path.write_bytes(data)
    expected = [(item.parsed(), item.text, item.location) for item in read_export(utf8)]
    assert [(item.parsed(), item.text, item.location) for item in read_export(utf16)] == expected
    assert [row for row, _, _ in expected] == (WIDE if name != "one.json" else WIDE[-1:])


@pytest.mark.parametrize("data, reason", [
    (b"\xff\xfe" + '[{"label_hash": "'.encode("utf-16-le") + b"\x00\xd8" + 'x"}]'.encode("utf-16-le"),
     "not valid UTF-16 at byte 36: illegal UTF-16 surrogate"),
    ("[]".encode("utf-16") + b"\x00", "not valid UTF-16 at byte 6: truncated data"),
], ids=["lone-surrogate", "odd-length"])
@pytest.mark.parametrize("chunk", [5, 4 << 20], ids=["characters-split-across-reads", "one-read"])
def test_broken_utf16_is_one_line_naming_the_file_and_where(tmp_path, monkeypatch, data, reason, chunk):
    monkeypatch.setattr(export, "_CHUNK", chunk)
    path = tmp_path / "wide.json"
    path.write_bytes(data)
    with pytest.raises(ExportError, match=rf"^{re.escape(str(path))}: {reason}$"):
        list(read_export(path))


@pytest.mark.parametrize("name, content", [
    ("export.json.gz", json.dumps(TRICKY, indent=2)),
    ("export.jsonl.gz", "\ufeff" + "\n".join(json.dumps(row) for row in TRICKY)),
    ("export.json", "\ufeff" + json.dumps(TRICKY)),  # gzip is told by its bytes, not its name
])
def test_gzip_files_are_read_as_streams(tmp_path, monkeypatch, name, content):
    monkeypatch.setattr(export, "_CHUNK", 53)  # many reads from the decompressing stream
    path = tmp_path / name
    path.write_bytes(gzip.compress(content.encode()))
    items = list(read_export(path))
    assert [item.parsed() for item in items] == TRICKY
    plain = tmp_path / "plain"
    plain.write_text(content.removeprefix("\ufeff"))
    assert [item.text for item in items] == [item.text for item in read_export(plain)]  # archived as written


PIPED = {
    "array.json": json.dumps(TRICKY).encode(),
    "marked.json": b"\xef\xbb\xbf \n\t" + json.dumps(TRICKY, indent=2).encode(),
    "rows.jsonl": "\n".join(json.dumps(row) for row in TRICKY).encode(),
    "one.json": json.dumps(TRICKY[1], indent=2).encode(),
    "array.json.gz": gzip.compress(json.dumps(TRICKY).encode()),
    "rows.jsonl.gz": gzip.compress(b"\xef\xbb\xbf" + "\n".join(json.dumps(row) for row in TRICKY).encode()),
    "utf16.json": json.dumps(TRICKY, ensure_ascii=False).encode("utf-16"),
}


@pytest.mark.parametrize("name", PIPED)
def test_a_pipe_reads_as_the_file(tmp_path, monkeypatch, name):
    """A named pipe (or `-`, standard input) cannot seek: what is read to tell gzip, a byte order mark or
    the format is read again from memory. Written a few bytes at a time, so reads come back short."""
    monkeypatch.setattr(export, "_CHUNK", 41)
    regular, pipe = tmp_path / "file" / name, tmp_path / "pipe" / name
    regular.parent.mkdir()
    pipe.parent.mkdir()
    regular.write_bytes(PIPED[name])
    os.mkfifo(pipe)

    def write() -> None:
        with open(pipe, "wb", buffering=0) as sink:
            for start in range(0, len(PIPED[name]), 5):
                sink.write(PIPED[name][start:start + 5])

    writer = threading.Thread(target=write)
    writer.start()
    got = [(item.parsed(), item.text, item.location) for item in read_export(pipe)]
    writer.join()
    assert got == [(item.parsed(), item.text, item.location) for item in read_export(regular)]
    assert [row for row, _, _ in got] == (TRICKY if not name.startswith("one") else [TRICKY[1]])


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[:len(data) // 2], "Compressed file ended before the end-of-stream marker was reached"),
    (lambda data: data[:10] + bytes(b ^ 0x55 for b in data[10:40]) + data[40:], "invalid"),
])
def test_damaged_gzip_is_one_line_naming_the_file(tmp_path, damage, reason):
    path = tmp_path / "export.json.gz"
    path.write_bytes(damage(gzip.compress(json.dumps(TRICKY).encode())))
    with pytest.raises(ExportError, match=r"^.*export.json.gz: the gzip data is damaged: .*") as raised:
        list(read_export(path))
    assert reason in str(raised.value) and "\n" not in str(raised.value)


def test_directory_reads_every_export_file_in_name_order(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps(ROWS[2:]))
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(row) for row in ROWS[:2]))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(json.dumps(ROWS[:1]).encode()))
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress(b"ignored"))
    # lh-0 is in a.jsonl and again in c.json.gz: it comes once, where the last file has it
    assert labels(tmp_path) == [row["label_hash"] for row in ROWS[1:] + ROWS[:1]]


def test_subdirectories_are_read_and_rows_are_located_by_their_path_in_the_directory(tmp_path):
    """Exports kept a folder a day (or synced from an S3 prefix) are read whole, in name order, the
    newest copy of a row winning across folders; hidden files and folders (a notebook's checkpoints,
    macOS's ._ files) are not export files."""
    for folder, rows in (("2026-11-01", ROWS[:3]), ("2026-11-02/morning", ROWS[1:2]), ("2026-11-02", ROWS[2:4])):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "export.json").write_text(json.dumps([dict(row, folder=folder) for row in rows]))
    (tmp_path / "2026-11-02" / "broken.jsonl").write_text(json.dumps(ROWS[4]) + "\n{not json}")
    (tmp_path / "top.jsonl").write_text(json.dumps(dict(ROWS[0], folder=".")))
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "export-checkpoint.json").write_text(json.dumps(ROWS))
    (tmp_path / "2026-11-01" / "._export.json").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    items = list(read_export(tmp_path))
    assert [(item.location, item.text if item.text == b"{not json}" else item.parsed()["label_hash"])
            for item in items] == [
        ("2026-11-02/broken.jsonl:1", "lh-4"), ("2026-11-02/broken.jsonl:2", b"{not json}"),
        ("2026-11-02/export.json[0]", "lh-2"), ("2026-11-02/export.json[1]", "lh-3"),
        ("2026-11-02/morning/export.json[0]", "lh-1"), ("top.jsonl:1", "lh-0"),
    ]
    assert [item.parsed()["folder"] for item in items[2:]] == ["2026-11-02", "2026-11-02", "2026-11-02/morning", "."]

    (tmp_path / "2026-11-02" / "cut.json").write_text("[" + json.dumps(ROWS[4]))
    assert next(item for item in read_export(tmp_path) if item.error).location == "2026-11-02/cut.json"


def test_linked_folders_are_read_once_and_a_loop_ends(tmp_path):
    """A folder linked into the export (a day kept on another disk) is read like any other; a link
    back to a parent, or a second link to a folder already read, is not entered."""
    store, export = tmp_path / "store", tmp_path / "export"
    (store / "day2").mkdir(parents=True)
    (store / "day2" / "export.json").write_text(json.dumps(ROWS[2:4]))
    export.mkdir()
    (export / "day1.json").write_text(json.dumps(ROWS[:2]))
    (export / "day2").symlink_to(store / "day2")
    (export / "day2-again").symlink_to(store / "day2")
    (store / "day2" / "back").symlink_to(export)
    assert [item.location for item in read_export(export)] == [
        "day1.json[0]", "day1.json[1]", "day2/export.json[0]", "day2/export.json[1]"]


def read_as_another_user(path) -> list[tuple[str, str | None]]:
    """(location, error) of each item of read_export(path), or the ExportError's message, read by a
    forked child that first becomes `nobody` when the tests run as root, whom permissions do not stop."""
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        try:
            signal.alarm(60)  # a lock some other thread held at the fork would hang it: end it, fail the test
            os.close(readable)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            with os.fdopen(writable, "wb") as answer:
                try:
                    pickle.dump([(item.location, item.error) for item in read_export(path)], answer)
                except ExportError as error:
                    pickle.dump(str(error), answer)
        finally:
            os._exit(0)
    os.close(writable)
    with os.fdopen(readable, "rb") as answer:
        items = pickle.load(answer)
    os.waitpid(child, 0)
    return items


def test_a_subdirectory_that_cannot_be_listed_is_an_item_with_its_error_and_the_rest_is_read():
    """Silently skipping it would lose its rows: it is recorded like a file that cannot be opened. The
    directory given itself is one line, as a single file that cannot be opened."""
    top = Path(tempfile.mkdtemp(prefix="ew-export-"))  # not under pytest's tmp_path, which only root may enter
    try:
        (top / "locked").mkdir()
        (top / "locked" / "a.json").write_text(json.dumps(ROWS[:2]))
        (top / "open").mkdir()
        (top / "open" / "b.json").write_text(json.dumps(ROWS[2:]))
        for path in (top, top / "open"):
            path.chmod(0o755)
        (top / "open" / "b.json").chmod(0o644)
        (top / "locked").chmod(0o000)
        assert read_as_another_user(top) == [
            ("locked/", "cannot read the directory: Permission denied"),
            *[(f"open/b.json[{i}]", None) for i in range(len(ROWS) - 2)]]
        assert read_as_another_user(top / "locked") == f"{top / 'locked'}: cannot read the directory: Permission denied"
    finally:
        (top / "locked").chmod(0o755)
        shutil.rmtree(top)


def test_a_row_in_several_files_of_a_directory_comes_once_from_the_last(tmp_path, caplog):
    """Full exports collected in one folder day after day: each label row is read from the newest file
    that has it, and the earlier copies are skipped (a sync would otherwise write every copy)."""
    day = [dict(row, day=1) for row in ROWS[:3]]
    (tmp_path / "2026-11-01.json").write_text(json.dumps(day))
    (tmp_path / "2026-11-02.json").write_text(json.dumps([dict(row, day=2) for row in ROWS[1:4]]))
    (tmp_path / "2026-11-03.jsonl").write_text(json.dumps(dict(ROWS[2], day=3)) + "\n" + "{not json}")
    caplog.set_level("INFO", logger="encord_warehouse.export")
    items = list(read_export(tmp_path))
    assert [item.location for item in items] == [
        "2026-11-01.json[0]", "2026-11-02.json[0]", "2026-11-02.json[2]", "2026-11-03.jsonl:1", "2026-11-03.jsonl:2"]
    assert [(row["label_hash"], row["day"]) for row in map(SourceRow.parsed, items[:4])] == [
        ("lh-0", 1), ("lh-1", 2), ("lh-3", 2), ("lh-2", 3)]
    assert items[4].text == b"{not json}"  # no label hash: never skipped, the sync records it
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "rows_superseded"]
    assert record.rows == 3 and record.getMessage().startswith("3 label rows of ")


def test_a_broken_file_of_a_directory_is_an_item_with_its_error_and_the_rest_is_read(tmp_path):
    """A file that cannot be read, or is cut off, does not stop the directory: its rows before the break
    come, then one item with the error (the sync records it), then the next file. A row a later file
    has is skipped only where that file still has it, before its break."""
    (tmp_path / "a.json").write_text(json.dumps(ROWS[:2]))
    (tmp_path / "b.jsonl").write_text(json.dumps(ROWS[1]) + "\n")
    (tmp_path / "c.json").write_text("hello")
    cut_off = json.dumps(ROWS[2:4])
    (tmp_path / "d.json").write_text(cut_off[:cut_off.index('"lh-3"') + 3])
    (tmp_path / "e.json.gz").write_bytes(gzip.compress(json.dumps(ROWS[4:]).encode())[:-12])
    items = list(read_export(tmp_path))
    assert [(item.location, item.parsed()["label_hash"] if item.error is None else item.error) for item in items] == [
        ("a.json[0]", "lh-0"), ("b.jsonl:1", "lh-1"),
        ("c.json", "not JSON: expected '[' or '{' at the start, found b'h'"),
        ("d.json[0]", "lh-2"), ("d.json", items[4].error), ("e.json.gz", items[5].error)]
    assert items[4].error.startswith("invalid JSON in item 1: ") and "\n" not in items[4].error
    assert items[5].error.startswith("the gzip data is damaged: ")


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("   \n", "the file is empty"),
    ("hello", "not JSON"),
    ("{broken", "invalid JSON"),
])
def test_unreadable_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ExportError, match=message) as raised:
        list(read_export(path))
    assert "\n" not in str(raised.value) and "bad.json" in str(raised.value)


def test_missing_file_and_empty_directory(tmp_path):
    with pytest.raises(ExportError, match="cannot open"):
        list(read_export(tmp_path / "nope.json"))
    with pytest.raises(ExportError, match="no .json or .jsonl files"):
        list(read_export(tmp_path))


@pytest.mark.parametrize("row, as_text", [
    ({"label_hash": "lh", "x": [0.1, 1e-7, 2**63 - 1], "title": "caf\u00e9", "link": None}, True),
    ({"label_hash": "lh", "x": float("nan")}, False),
    ({"label_hash": "lh", "units": {"d": {"labels": {"3": {"w": float("-inf")}}}}}, False),
    ({"label_hash": "lh", "labels": {3: {}}}, False),  # JSON keys are strings: it would read back as "3"
    ({"label_hash": "lh", "confidence": 2**70}, False),
])
def test_lossless_json_is_text_only_when_it_reads_back_as_the_same_row(row, as_text):
    """A source's dicts (the Encord SDK's) go to the workers as JSON text, unless the text would change them."""
    text = lossless_json(row)
    assert (text is not None) == as_text
    if as_text:
        assert parse_json(text) == row and text == orjson.dumps(row)  # the raw archive and fingerprint's bytes


def test_an_ontology_file_is_read_with_a_byte_order_mark_and_checked_for_its_shape(tmp_path):
    ontology = {"objects": [{"featureNodeHash": "f1", "id": 1}], "classifications": []}
    marked = tmp_path / "ontology.json"
    marked.write_bytes(b"\xef\xbb\xbf" + json.dumps(ontology).encode())
    assert read_ontology(marked) == ontology
    wide = tmp_path / "wide.json"
    wide.write_bytes(json.dumps(ontology).encode("utf-16"))  # PowerShell 5's `>`
    assert read_ontology(wide) == ontology
    latin = '{"objects": [], "note": "caf\u00e9"}'.encode("latin-1")
    at = latin.index(b"\xe9")
    for name, content, message in [
        ("row.json", json.dumps(ROWS[0]).encode(), "not an ontology: expected an object with 'objects' and "
                                                   r"'classifications' lists \(OntologyStructure.to_dict\(\)\)$"),
        ("list.json", b"[]", "not an ontology: expected an object"),
        ("bad.json", json.dumps({"objects": {}}).encode(), "not an ontology: expected an object"),
        ("number.json", json.dumps({"objects": [], "classifications": [3]}).encode(),
         r"not an ontology: classifications\[0\] is int, not an object$"),
        ("nested.json", json.dumps({"objects": [{"featureNodeHash": "a", "attributes": [{"featureNodeHash": "b",
                                    "options": [{"featureNodeHash": "c", "options": ["zz"]}]}]}]}).encode(),
         r"not an ontology: objects\[0\]\.attributes\[0\]\.options\[0\]\.options\[0\] is str, not an object$"),
        ("options.json", json.dumps({"classifications": [{"featureNodeHash": "a", "attributes": {}}]}).encode(),
         r"not an ontology: classifications\[0\]\.attributes is dict, not a list$"),
        ("latin.json", latin, rf"ontology is not valid JSON: not UTF-8 \(byte 0xe9\): line 1 column {at + 1} \(char {at}\)"),
        ("missing.json", None, "cannot open ontology: No such file or directory"),
        ("odd.json", "{}".encode("utf-16") + b"\x00", "ontology is not valid UTF-16 at byte 6: truncated data"),
    ]:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ExportError, match=f"^{re.escape(str(path))}: {message}"):
            read_ontology(path)
