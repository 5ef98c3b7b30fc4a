"""A role a strict DBA set up: session settings on the role (ALTER ROLE ... SET) that change how Postgres prints
numbers, which isolation a transaction gets, and how long a transaction may wait idle. The warehouse's output and
its jobs must not depend on them."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connector.cli import cli
from connector.db import create_warehouse_engine
from tests.media import make_video
from tests.test_frames_job import PROJECT, label_row
from warehouses import new_postgres_warehouse

ROLE_SETTINGS = {"extra_float_digits": "-3", "default_transaction_isolation": "serializable",
                 "idle_in_transaction_session_timeout": "1s"}


@pytest.fixture
def strict_role(postgres_url):
    """A login role with ROLE_SETTINGS, owning a schema of its own: its command-line arguments."""
    name, schema = f"r_{uuid.uuid4().hex[:10]}", f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        for setting, value in ROLE_SETTINGS.items():
            connection.execute(text(f"ALTER ROLE \"{name}\" SET {setting} = '{value}'"))
        connection.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{name}"'))
    yield ["--db", make_url(postgres_url).set(username=name).render_as_string(hide_password=False), "--schema", schema]
    with admin.connect() as connection:
        connection.execute(text(f'DROP OWNED BY "{name}"'))
        connection.execute(text(f'DROP ROLE "{name}"'))
    admin.dispose()


def run(db_args, *args, expect=0):
    result = CliRunner().invoke(cli, [*args, *db_args], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def test_a_role_with_a_dba_s_settings_gets_the_same_output_and_finishes_long_videos(strict_role, postgres_url, tmp_path):
    """extra_float_digits -3 rounded every double `labels` and the manifests printed to 12 digits; 'serializable'
    failed extract-frames jobs sharing the videos; a 1 s idle-in-transaction timeout ended every extract-frames run
    whose video took longer than a second (each claim waits idle while ffmpeg runs). Until 2026-11-30."""
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "long.mp4", frames=2600)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("long.mp4", "dh-long", list(range(2600)))]))
    reference = new_postgres_warehouse(postgres_url)
    for db_args in (strict_role, reference.cli_args):
        run(db_args, "sync", "--from-export", str(export), "--project-hash", PROJECT)

    query = ("labels", "--title", "long.mp4", "--frames", "7", "--format", "csv")
    printed = run(strict_role, *query).output
    assert printed == run(reference.cli_args, *query).output
    y_px = next(csv.DictReader(io.StringIO(printed)))["y_px"]
    assert y_px == repr(0.2 * 96)  # 19.200000000000003: every digit of the double, not 12 significant ones
    engine = create_warehouse_engine(strict_role[1], strict_role[3])
    with engine.connect() as connection:
        assert connection.scalar(text("SHOW transaction_isolation")) == "read committed"
    engine.dispose()

    extracted = run(strict_role, "extract-frames", "--media-root", str(media), "--dest", str(tmp_path / "frames"))
    assert extracted.stdout.rstrip().endswith("1 video, 2600 frames written, 0 already extracted, 0 claimed by other "
                                              "workers, 0 failed")
    manifest = (tmp_path / "frames" / PROJECT / "dh-long" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 2600 and json.loads(manifest[7])["labels"][0]["y_px"] == float(y_px)
    reference.engine.dispose()
