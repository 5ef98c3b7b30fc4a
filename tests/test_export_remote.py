"""Export files and ontologies at URLs, read through fsspec: S3 on a real S3 API server (moto's
server mode) on 127.0.0.1, and presigned HTTP links to it; syncs on DuckDB and on Postgres."""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import logging
import re
import threading
from urllib.parse import urlsplit

import fsspec
import pytest

from connector import migrate
from connector.sources.export import read_export
from tests.encord_emulator import clone_row
from tests.test_frames_storage import s3, s3_endpoint  # noqa: F401  (fixtures: moto on loopback)
from sync_helpers import without_info_events
from tests.test_sync_export import ONTOLOGY, SAMPLE, run_cli, snapshot

SECRET = "s3cr3t-do-not-print"


def upload_export(fs, bucket: str) -> list[dict]:
    """The sample export as two days' files, one of them gzip in a subfolder, beside files that are not
    export files (a hidden folder's copy, a README); the ontology beside the folder."""
    rows = json.loads(SAMPLE.read_text())
    fs.pipe(f"{bucket}/exports/2026-11-01.json", json.dumps(rows[:4]).encode())
    fs.pipe(f"{bucket}/exports/later/2026-11-02.json.gz", gzip.compress(json.dumps(rows[4:]).encode()))
    fs.pipe(f"{bucket}/exports/.ipynb_checkpoints/2026-11-01.json", b"not read")
    fs.pipe(f"{bucket}/exports/README.txt", b"not an export file")
    fs.pipe(f"{bucket}/ontology.json", ONTOLOGY.read_bytes())
    return rows


def test_an_s3_folder_reads_as_the_same_folder_on_disk(s3, tmp_path):
    fs, bucket = s3
    rows = upload_export(fs, bucket)
    fs.get(f"{bucket}/exports/", str(tmp_path / "exports"), recursive=True)
    remote = [(item.location, item.text) for item in read_export(f"s3://{bucket}/exports/")]
    assert remote == [(item.location, item.text) for item in read_export(tmp_path / "exports")]
    assert [location for location, _ in remote] == (
        [f"2026-11-01.json[{i}]" for i in range(4)] + [f"later/2026-11-02.json.gz[{i}]" for i in range(len(rows) - 4)])
    assert [json.loads(text) for _, text in remote] == rows

    one_file = list(read_export(f"s3://{bucket}/exports/later/2026-11-02.json.gz"))
    assert [item.location for item in one_file] == [f"2026-11-02.json.gz[{i}]" for i in range(len(rows) - 4)]
    assert [item.parsed() for item in one_file] == rows[4:]


def test_a_presigned_link_reads_as_the_file_and_its_signature_is_not_shown(s3, warehouse, caplog):
    """`aws s3 presign` hands out HTTPS links whose query is the credential: the rows' locations and
    every message leave it out. The file is read in ranges, as a stream: never downloaded whole (fsspec
    would, to look for links in it, if asked whether an HTTP URL is a folder)."""
    fs, bucket = s3
    rows = upload_export(fs, bucket)
    link = fs.url(f"{bucket}/exports/2026-11-01.json", expires=600)
    assert "Signature=" in link and link.startswith("http://127.0.0.1:")
    with caplog.at_level(logging.INFO, logger="werkzeug"):  # moto's server logs each request it answers
        assert [(item.location, item.parsed()) for item in read_export(link)] == [
            (f"2026-11-01.json[{i}]", row) for i, row in enumerate(rows[:4])]
    gets = [re.search(r"GET /\S+ HTTP/1.1\S* (\d+)", record.getMessage()) for record in caplog.records]
    assert [get.group(1) for get in gets if get] == ["206"]

    gone = fs.url(f"{bucket}/exports/deleted.json", expires=600)
    result = run_cli(warehouse, "sync", "--from-export", gone)
    assert result.exit_code == 2
    [reason] = without_info_events(result.output)
    assert reason.startswith(f"encord-warehouse: {gone.split('?')[0]}?<redacted>: cannot open: ")
    assert gone.split("?")[1] not in result.output


def test_a_sync_from_s3_equals_the_local_sync_and_sees_files_added_since(warehouse, other_warehouse, s3, s3_endpoint,
                                                                         monkeypatch):
    fs, bucket = s3
    rows = upload_export(fs, bucket)
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # given as storage options instead
        monkeypatch.delenv(name)
    remote = ("--from-export", f"s3://{bucket}/exports/", "--ontology", f"s3://{bucket}/ontology.json",
              "--storage-option", f"endpoint_url={s3_endpoint}", "--storage-option", "key=testing",
              "--storage-option", f"secret={SECRET}")
    first = run_cli(warehouse, "sync", *remote)
    assert first.exit_code == 0, first.output
    assert f"{len(rows)} inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" in first.output
    assert run_cli(other_warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY)).exit_code == 0
    unwritten = ("synced_at", "content_sha256")  # the fingerprint is of the row's text: the files' differ in layout
    assert snapshot(warehouse, unwritten) == snapshot(other_warehouse, unwritten) and snapshot(warehouse)["object_frames"]

    fs.pipe(f"{bucket}/exports/later/2026-11-03.json", json.dumps([clone_row(rows[0])]).encode())
    second = run_cli(warehouse, "sync", *remote, "--delete-missing")  # in the same process: no stale listing
    assert second.exit_code == 0, second.output
    assert f"1 inserted, 0 updated, {len(rows)} unchanged, 0 deleted, 0 failed" in second.output

    fs.pipe(f"{bucket}/exports/later/2026-11-04.json", b"hello")  # only the new file is read (by their ETags)
    third = run_cli(warehouse, "sync", *remote)
    assert third.exit_code == 1 and "3 of 4 export files are as an earlier run read them: not read again" in third.output
    assert ", 0 inserted, 0 updated, 0 unchanged, 0 deleted, 1 failed" in third.output
    assert warehouse.rows("SELECT source, field FROM sync_errors") == [("later/2026-11-04.json", "<json>")]
    fs.pipe(f"{bucket}/exports/later/2026-11-04.json", json.dumps([clone_row(rows[1])]).encode())
    fourth = run_cli(warehouse, "sync", *remote)
    assert fourth.exit_code == 0 and "1 listed, 1 fetched, 1 inserted, 0 updated, 0 unchanged" in fourth.output
    assert SECRET not in first.output + second.output + third.output + fourth.output


def test_an_export_or_ontology_url_that_cannot_be_read_is_one_line(warehouse, s3, s3_endpoint):
    fs, bucket = s3
    upload_export(fs, bucket)
    options = ("--storage-option", f"endpoint_url={s3_endpoint}", "--storage-option", f"secret={SECRET}",
               "--storage-option", "key=testing")
    for args, message in (
        (["--from-export", f"s3://{bucket}/exports/none.json"], f"s3://{bucket}/exports/none.json: cannot open: no such file"),
        (["--from-export", "s3://no-such-bucket/export.json"],
         "s3://no-such-bucket/export.json: cannot open: The specified bucket does not exist"),
        (["--from-export", f"s3://{bucket}/exports/", "--ontology", f"s3://{bucket}/none.json"],
         f"s3://{bucket}/none.json: cannot open ontology: no such file"),
        (["--from-export", "nosuch://exports/export.json"], "nosuch://exports/export.json: cannot open: Protocol not known: nosuch"),
        (["--from-export", f"s3://testing:{SECRET}@{bucket}/exports/"],  # botocore would repeat it without s3://
         f"s3://testing:***@{bucket}/exports/: credentials do not go in the URL; give them with --storage-option "
         "key=... secret=... or the AWS environment variables"),
        (["--from-export", f"s3://{bucket}/exports/", "--ontology", f"s3://testing:{SECRET}@{bucket}/ontology.json"],
         f"s3://testing:***@{bucket}/ontology.json: credentials do not go in the URL; give them with --storage-option "
         "key=... secret=... or the AWS environment variables"),
    ):
        result = run_cli(warehouse, "sync", *args, *options)
        assert (result.exit_code, without_info_events(result.output)) == (2, [f"encord-warehouse: {message}"])
    assert warehouse.scalar("SELECT count(*) FROM branches") == 0


def test_a_storage_option_that_is_not_key_value_is_refused_without_repeating_it(warehouse):
    result = run_cli(warehouse, "sync", "--from-export", "s3://exports/export.json", "--storage-option", "anon=true",
                     "--storage-option", SECRET)
    assert (result.exit_code, result.output) == (2, "encord-warehouse: storage option 2 is not KEY=VALUE (no =)\n")
    assert migrate.current_revision(warehouse.engine) is None


@pytest.fixture
def flaky_s3(s3_endpoint):
    """A proxy on 127.0.0.1 in front of the S3 server that cuts short its answer to a GET of the paths
    in `broken` (half the body, then the connection closed): a connection lost part way through a read."""
    broken: set[str] = set()
    host, port = urlsplit(s3_endpoint).hostname, urlsplit(s3_endpoint).port

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            upstream = http.client.HTTPConnection(host, port, timeout=30)
            upstream.request(self.command, self.path, body=self.rfile.read(length) if length else None,
                             headers=dict(self.headers.items()))
            answer = upstream.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = self.command == "GET" and urlsplit(self.path).path in broken
            self.wfile.write(body[:len(body) // 2] if cut else body)
            self.close_connection = cut

        do_GET = do_HEAD = forward

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}", broken
    proxy.shutdown()
    proxy.server_close()


def test_a_file_whose_read_breaks_off_is_one_failure_and_the_rest_loads(warehouse, s3, flaky_s3):
    """A connection lost part way through reading one file of an S3 folder (aiohttp's own error, not an
    OSError): that file is one line and one sync_errors row, the other files load, and the next sync
    reads it. A single file (a presigned link) that breaks off is a one-line error naming it."""
    fs, bucket = s3
    rows = upload_export(fs, bucket)
    proxy, broken = flaky_s3
    remote = ("--from-export", f"s3://{bucket}/exports/", "--ontology", str(ONTOLOGY),
              "--storage-option", f"endpoint_url={proxy}")
    broken.add(f"/{bucket}/exports/2026-11-01.json")
    cut_short = run_cli(warehouse, "sync", *remote)
    assert cut_short.exit_code == 1 and "Traceback" not in cut_short.output
    assert f"{len(rows) - 4} inserted, 0 updated, 0 unchanged, 0 deleted, 1 failed" in cut_short.output
    assert "error: 2026-11-01.json: <json>: cannot read: ClientPayloadError: Response payload is not completed" in cut_short.output
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows) - 4
    assert [(source, reason.split(":")[:2]) for source, reason in warehouse.rows("SELECT source, reason FROM sync_errors")] == [
        ("2026-11-01.json", ["cannot read", " ClientPayloadError"])]

    broken.clear()
    healed = run_cli(warehouse, "sync", *remote)
    assert healed.exit_code == 0 and f"4 inserted, 0 updated, {len(rows) - 4} unchanged" in healed.output
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows)

    link = fsspec.filesystem("s3", endpoint_url=proxy, skip_instance_cache=True).url(
        f"{bucket}/exports/2026-11-01.json", expires=600)
    broken.add(f"/{bucket}/exports/2026-11-01.json")
    single = run_cli(warehouse, "sync", "--from-export", link)
    [reason] = without_info_events(single.output)
    assert single.exit_code == 2 and reason.startswith(
        f"encord-warehouse: {link.split('?')[0]}?<redacted>: cannot read: ClientPayloadError: ")
    assert link.split("?")[1] not in single.output
