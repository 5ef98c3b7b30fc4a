"""`encord-warehouse labels`: print per frame what the docs' "by frame" scripts print.

Registered by one import line in connector/cli.py; the work happens in connector/labels.py.
"""

from __future__ import annotations

import csv
import io

import click

from connector import labels as library
from connector.jsonout import strict_dumps
from connector.cli import (FRAME_LIST, UserError, cli, command_engine, db_option, one_line_errors, reader_wait_option,
                           schema_option)


@cli.command()
@db_option
@schema_option
@click.option("--title", required=True, help="The data unit's title, e.g. video.mp4.")
@click.option("--start", type=click.IntRange(0), default=None, help="First frame of the range (inclusive).")
@click.option("--end", type=click.IntRange(0), default=None, help="Last frame of the range (inclusive).")
@click.option("--frames", "frame_list", type=FRAME_LIST, default=None, metavar="10,20,30-40",
              help="A list of frames (and ranges) instead of --start/--end.")
@click.option("--branch", default=None, help="Only this branch ('main' or an annotator branch). Default: every branch.")
@click.option("--project-hash", default=None, help="The data unit's project, when the title is in several.")
@click.option("--data-hash", default=None, help="The data unit's hash, when several data units have the title.")
@click.option("--format", "output_format", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@reader_wait_option
def labels(db_url, schema, title, start, end, frame_list, branch, project_hash, data_hash, output_format,
           wait_for_lock) -> None:
    """Print the objects, classifications and attributes of frames of one data unit.

    JSON: one entry per label row and frame, objects with pixel geometry and attributes, then
    classifications. CSV: one line per attribute answer (the docs' export table).

    \b
    Example:
        encord-warehouse labels --title video_0000.mp4 --start 100 --end 250
        encord-warehouse labels --title video_0000.mp4 --frames 10,20,30,40 --format csv
    """
    with one_line_errors(db_url):
        try:
            query = library.LabelsQuery(title, start, end, frame_list, branch, project_hash, data_hash)
            with command_engine(db_url, schema, read_only=True, lock_wait=wait_for_lock) as engine:
                click.echo(_render(engine, query, output_format), nl=False)
        except library.LabelsError as error:
            raise UserError(str(error)) from None


def _render(engine, query: library.LabelsQuery, output_format: str) -> str:
    if output_format == "json":
        return strict_dumps(library.labels_by_frame(engine, query), indent=1) + "\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(library.csv_rows(library.export_rows(engine, query)))
    return buffer.getvalue()
