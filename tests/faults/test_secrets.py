"""Secrets: the SSH key, signed URLs' signatures and the database password never appear in logs,
command output, sync_runs, sync_errors or exception messages, whatever goes wrong."""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import subprocess
import sys
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from conftest import CLI, ROOT, sample_rows
from connector.cli import cli
from connector.db import create_warehouse_engine
from connector.redact import redact
from sync_helpers import sync_args
from test_bad_input import set_path, set_top, write

PASSWORD = "pw-Zq8#sEcReT"
SIGNATURE = "X-Amz-Signature=5ec12e7deadbeefcafe0042"
SIGNED = f"https://media.example.com/street.mp4?X-Amz-Credential=AKIAEXAMPLE%2F20250310&{SIGNATURE}"


def with_password(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(password=PASSWORD).render_as_string(hide_password=False) if parsed.host else url


def secrets(encord_key) -> list[str]:
    body = [line for line in encord_key.private_key_text.splitlines() if line and not line.startswith("-----")]
    return [*body, PASSWORD, SIGNATURE, "5ec12e7deadbeefcafe0042", "AKIAEXAMPLE"]


def test_no_secret_in_any_output(warehouse, encord_emulator, encord_key, key_path, project, tmp_path):
    emulator, outputs = encord_emulator, []
    url = with_password(warehouse.url)
    db = ["--db", url, *(["--schema", warehouse.schema] if warehouse.schema else [])]
    for row in project.rows[:2]:  # signed data links, one on a row that fails
        edited = emulator.row(row["label_hash"])
        next(iter(edited["data_units"].values()))["data_link"] = SIGNED
        emulator.put_row(project.hash, edited)
    broken = emulator.row(project.rows[1]["label_hash"])
    set_top("data_type", f"hologram {SIGNED}")(broken)
    emulator.put_row(project.hash, broken)

    def run(args, env=None):
        result = CliRunner(env=env).invoke(cli, args)
        outputs.append(result.output + (result.stderr if result.stderr_bytes is not None else ""))
        if result.exception and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception))
        return result

    base = [*sync_args(warehouse, emulator, key_path, project.hash, "--signed-urls", "--log-format", "json")]
    base[base.index("--db") + 1] = url
    assert run(base).exit_code == 1  # one row quarantined
    run([*base[:-2], "--log-format", "text"])
    emulator.inject("status", status=500, times=None)
    assert run(base).exit_code == 2  # the API fails
    emulator.clear_faults()
    run(["status", *db])
    run(["migrate", *db])
    bad_db = with_password(warehouse.url.replace(str(make_url(warehouse.url).port or ""), "1")) \
        if warehouse.dialect == "postgresql" else "duckdb:////nonexistent/dir/w.duckdb"
    assert run(["status", "--db", bad_db]).exit_code != 0  # the warehouse is unreachable
    assert run([*base[: base.index("--db")], "--db", bad_db]).exit_code != 0
    garbled = tmp_path / "garbled_key"
    garbled.write_text(encord_key.private_key_text.replace("A", "?"))
    keyless = list(base)
    keyless[keyless.index("--ssh-key-file") + 1] = str(garbled)
    assert run(keyless).exit_code != 0  # a key the SDK cannot read
    assert run(base, env={"ENCORD_SSH_KEY": encord_key.private_key_text}).exit_code == 1
    process = subprocess.run([*CLI, *base], cwd=ROOT, capture_output=True, text=True)  # a real process, all of stderr
    outputs.append(process.stdout + process.stderr)
    quoted = sample_rows()[3]  # a bad value that is a signed link: the error quotes it
    set_path(boundingBox__x=SIGNED)(quoted)
    keyed = sample_rows()[2]  # a signed link where a frame number goes: the error's field path holds it
    unit = next(iter(keyed["data_units"].values()))
    unit["labels"][SIGNED] = unit["labels"].pop(next(iter(unit["labels"])))
    export = write(tmp_path, "quoted.jsonl", [quoted, keyed])
    assert run(["sync", "--from-export", str(export), *db]).exit_code == 1
    assert run(["sync", "--from-export", str(export), *db, "--log-format", "json"]).exit_code == 1
    if warehouse.dialect == "postgresql":  # a password with an @ not written %40 ends at it for a URL parser
        at_in_password = make_url(url).set(password=f"{PASSWORD[:3]}@{PASSWORD[3:]}").render_as_string(
            hide_password=False).replace("%40", "@", 1)
        assert run(["status", "--db", at_in_password]).exit_code == 2
        assert run(["sync", "--from-export", str(export), "--db", at_in_password]).exit_code == 2

    engine = create_warehouse_engine(warehouse.url, warehouse.schema)
    with engine.connect() as connection:
        from sqlalchemy import text

        for table in ("sync_runs", "sync_errors", "sync_state"):
            outputs.append(repr(connection.execute(text(f"SELECT * FROM {table}")).all()))
    engine.dispose()
    everything = "\n".join(outputs)
    assert "not implemented" in everything and "expected a number" in everything  # failures recorded and shown
    assert "?<redacted>" in everything
    for secret in [*secrets(encord_key), PASSWORD[3:], quote(PASSWORD[3:])]:
        assert secret not in everything, f"{secret[:12]}… leaked"


def _rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()


def _passphrase_protected_key() -> str:
    """An OpenSSH key whose header says it is encrypted (aes256-ctr, bcrypt KDF): what a reader looks at
    before it asks for the passphrase. Written by hand: encrypting a real one needs the bcrypt package."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    def string(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                           serialization.PublicFormat.Raw)
    blob = (b"openssh-key-v1\0" + string(b"aes256-ctr") + string(b"bcrypt")
            + string(string(os.urandom(16)) + struct.pack(">I", 16)) + struct.pack(">I", 1)
            + string(string(b"ssh-ed25519") + string(public)) + string(os.urandom(144)))
    body = base64.b64encode(blob).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    return "\n".join(["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----", ""])


def test_an_unusable_key_is_named_in_one_line_without_quoting_it(warehouse, encord_emulator, project, tmp_path):
    """The SDK's own error for an RSA key quotes the whole key; ours says what is wrong and nothing more."""
    keys = {
        "rsa": (_rsa_key(), "it is not an Ed25519 key (Encord's API keys are Ed25519)"),
        "passphrase": (_passphrase_protected_key(), "it is protected by a passphrase; Encord's client reads keys without one"),
    }
    for name, (key_text, problem) in keys.items():
        key_file = tmp_path / name
        key_file.write_text(key_text)
        warehouse.engine.dispose()  # DuckDB: one process may have the file open
        process = subprocess.run([*CLI, *sync_args(warehouse, encord_emulator, key_file, project.hash)], cwd=ROOT,
                                 capture_output=True, text=True)
        assert process.returncode == 2
        assert process.stderr.splitlines()[-1] == f"encord-warehouse: the Encord SSH key cannot be used: {problem}"
        stored = repr(warehouse.rows("SELECT * FROM sync_runs"))
        for line in key_text.splitlines()[1:-1]:
            assert line not in process.stdout + process.stderr + stored
    assert encord_emulator.log.requests_of("project", "GET") == []


@pytest.mark.parametrize("message, expected", [
    ("s3://b/x.json?X-Amz-Signature=abc%3D&Expires=9: cannot open", "s3://b/x.json?<redacted>: cannot open"),
    ("fetch https://h/v.mp4?sig=a:b:c.", "fetch https://h/v.mp4?<redacted>."),
    ("('https://h/v.mp4?sig=abc', 'https://h/w.mp4?t=1')", "('https://h/v.mp4?<redacted>', 'https://h/w.mp4?<redacted>')"),
    ("postgresql://user:pw@host/db?sslmode=require", "postgresql://user:***@host/db?<redacted>"),
    ("no URL here? no.", "no URL here? no."),
])
def test_redact_leaves_out_queries_and_passwords_and_keeps_the_punctuation_after_them(message, expected):
    assert redact(message) == expected


def test_another_librarys_log_record_is_one_redacted_line_with_its_exceptions_first_line():
    """SQLAlchemy logs a failed connection reset with its exception; a library may log a signed link."""
    from connector.logs import JsonFormatter, TextFormatter
    try:
        raise RuntimeError(f"Could not fetch {SIGNED}: No space left on device\nsecond line of the driver's message")
    except RuntimeError:
        record = logging.LogRecord("sqlalchemy.pool.impl.QueuePool", logging.ERROR, __file__, 1,
                                   "Exception during reset of %s", ("a connection",), sys.exc_info())
    expected = ("Exception during reset of a connection: Could not fetch https://media.example.com/street.mp4?<redacted>: "
                "No space left on device")
    assert TextFormatter().format(record).split(" ", 2)[2] == f"error   {expected}"
    assert json.loads(JsonFormatter().format(record))["message"] == expected
