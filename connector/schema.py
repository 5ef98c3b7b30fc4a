"""The warehouse tables, as SQLAlchemy Core objects.

Migrations under migrations/versions create exactly these tables (a test compares them);
the loader and the CLI read column names and types from here. Keys are Encord's own
hashes: no autoincrement ids anywhere (sync_runs.run_seq numbers runs, not rows). Timestamps are naive and in UTC.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

from connector.columns import ColumnSpec, TableColumns

metadata = MetaData()


def _audit_columns() -> list[Column]:
    return [
        Column("created_by", Text),
        Column("created_at", DateTime),
        Column("last_edited_by", Text),
        Column("last_edited_at", DateTime),
    ]


projects = Table(
    "projects",
    metadata,
    Column("project_hash", Text, primary_key=True),
    Column("title", Text),
    Column("description", Text),
    Column("ontology_hash", Text),
    Column("project_type", Text),
    Column("created_at", DateTime),
    Column("last_edited_at", DateTime),
    Column("synced_at", DateTime),
    Column("ontology_fingerprint", Text),  # of the ontology its ontology tables hold (0016)
    Column("ontology_pending", Boolean),  # an export sync that changed it has yet to re-derive the rows (0016)
)

ontology_objects = Table(
    "ontology_objects",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("feature_hash", Text, nullable=False),
    Column("uid", Integer),
    Column("name", Text),
    Column("color", Text),
    Column("shape", Text),
    Column("required", Boolean),
    Column("archived", Boolean),
    PrimaryKeyConstraint("project_hash", "feature_hash"),
)

ontology_classifications = Table(
    "ontology_classifications",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("feature_hash", Text, nullable=False),
    Column("uid", Integer),
    Column("name", Text),
    Column("attribute_feature_hash", Text),
    Column("required", Boolean),
    Column("archived", Boolean),
    PrimaryKeyConstraint("project_hash", "feature_hash"),
)

ontology_attributes = Table(
    "ontology_attributes",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("feature_hash", Text, nullable=False),
    Column("uid", Text),
    Column("name", Text),
    Column("type", Text),
    Column("owner_feature_hash", Text),
    Column("parent_attribute_hash", Text),
    Column("parent_option_hash", Text),
    Column("dynamic", Boolean),
    Column("required", Boolean),
    Column("archived", Boolean),
    PrimaryKeyConstraint("project_hash", "feature_hash"),
)

ontology_options = Table(
    "ontology_options",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("feature_hash", Text, nullable=False),
    Column("uid", Text),
    Column("label", Text),
    Column("value", Text),
    Column("attribute_feature_hash", Text),
    Column("archived", Boolean),
    PrimaryKeyConstraint("project_hash", "feature_hash"),
)

data_units = Table(
    "data_units",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("data_hash", Text, nullable=False),
    Column("data_title", Text),
    Column("data_type", Text),
    Column("file_type", Text),
    Column("width", Integer),
    Column("height", Integer),
    Column("fps", Double),
    Column("duration_s", Double),
    Column("frame_count", Integer),
    Column("dataset_hash", Text),
    Column("dataset_title", Text),
    Column("data_link", Text),
    PrimaryKeyConstraint("project_hash", "data_hash"),
    Index("ix_data_units_title", "data_title"),
)

branches = Table(
    "branches",
    metadata,
    Column("label_hash", Text, primary_key=True),
    Column("project_hash", Text, nullable=False),
    Column("data_hash", Text, nullable=False),
    Column("branch_name", Text, nullable=False),
    Column("label_status", Text),
    Column("annotation_task_status", Text),
    Column("workflow_stage", Text),
    Column("workflow_stage_uuid", Text),
    Column("created_at", DateTime),
    Column("last_edited_at", DateTime),
    Column("synced_at", DateTime),
    Column("deleted_at", DateTime),
    Column("content_sha256", Text),
    Column("listing_sha256", Text),  # what the Encord listing said of the row when it loaded (migration 0012)
    Index("ix_branches_data", "project_hash", "data_hash"),
)

# The label row as read (JSON text, NaN and infinities spelled as strings), in parts of at most
# stage.ARCHIVE_PART_BYTES bytes: the archive `rebuild` re-derives every table from (migration 0005). In
# parts because DuckDB pins memory for whole values at a checkpoint: one value per label row (up
# to megabytes each) made a load's memory grow with the warehouse. The view `label_row_json`
# joins the parts back into one JSON value per label row.
raw_label_rows = Table(
    "raw_label_rows",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("part", Integer, nullable=False),
    Column("json_text", Text, nullable=False),
    PrimaryKeyConstraint("label_hash", "part"),
)

frames = Table(
    "frames",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("data_hash", Text, nullable=False),
    Column("data_title", Text),
    Column("width", Integer),
    Column("height", Integer),
    Column("timestamp_s", Double),
    Column("data_link", Text),
    PrimaryKeyConstraint("label_hash", "frame"),
)

objects = Table(
    "objects",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("object_hash", Text, nullable=False),
    Column("feature_hash", Text),
    Column("name", Text),
    Column("value", Text),
    Column("color", Text),
    Column("shape", Text),
    Column("object_number", Integer),
    Column("first_frame", Integer),
    Column("last_frame", Integer),
    Column("frame_count", Integer),
    *_audit_columns(),
    PrimaryKeyConstraint("label_hash", "object_hash"),
)

object_frames = Table(
    "object_frames",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("object_hash", Text, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("shape", Text),
    Column("x", Double),
    Column("y", Double),
    Column("w", Double),
    Column("h", Double),
    Column("theta", Double),
    Column("points", JSON),
    Column("rings", JSON),
    Column("geometry", JSON),
    Column("confidence", Double),
    Column("manual_annotation", Boolean),
    Column("event", Text),
    Column("is_deleted", Boolean),
    *_audit_columns(),
    Column("problems", Text),  # what is wrong with a kept annotation (non-finite, outside 0..1, past the end); migration 0003
    PrimaryKeyConstraint("label_hash", "object_hash", "frame"),
    Index("ix_object_frames_frame", "label_hash", "frame"),
)

classifications = Table(
    "classifications",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("classification_hash", Text, nullable=False),
    Column("feature_hash", Text),
    Column("name", Text),
    Column("answer", Text),
    Column("confidence", Double),
    Column("manual_annotation", Boolean),
    *_audit_columns(),
    Column("problems", Text),  # what is wrong with it: ranges past the last frame, cut there; migration 0011
    PrimaryKeyConstraint("label_hash", "classification_hash"),
)

classification_frames = Table(
    "classification_frames",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("classification_hash", Text, nullable=False),
    Column("frame", Integer, nullable=False),
    PrimaryKeyConstraint("label_hash", "classification_hash", "frame"),
    Index("ix_classification_frames_frame", "label_hash", "frame"),
)

attributes = Table(
    "attributes",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("owner_hash", Text, nullable=False),
    Column("answer_seq", Integer, nullable=False),
    Column("owner_kind", Text, nullable=False),
    Column("attribute_hash", Text),
    Column("attribute_name", Text),
    Column("attribute_type", Text),
    Column("option_hash", Text),
    Column("option_name", Text),
    Column("option_value", Text),
    Column("text_value", Text),
    Column("number_value", Double),
    Column("dynamic", Boolean, nullable=False),
    Column("start_frame", Integer),
    Column("end_frame", Integer),
    Column("parent_attribute_hash", Text),
    Column("parent_option_hash", Text),
    Column("manual_annotation", Boolean),
    Column("track_hash", Text),
    PrimaryKeyConstraint("label_hash", "owner_hash", "answer_seq"),
)

annotation_ranges = Table(
    "annotation_ranges",
    metadata,
    Column("label_hash", Text, nullable=False),
    Column("owner_hash", Text, nullable=False),
    Column("range_seq", Integer, nullable=False),  # its place in the owner's list of ranges
    Column("owner_kind", Text, nullable=False),  # object or classification
    Column("range_start", BigInteger),  # inclusive; audio: milliseconds, plain text: characters, time series: its timestamps (0010)
    Column("range_end", BigInteger),
    Column("html_range", JSON),  # an HTML document's span: {"start": {"xpath": ..., "offset": n}, "end": {...}}
    PrimaryKeyConstraint("label_hash", "owner_hash", "range_seq"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("project_hash", Text),
    Column("source", Text, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", Text, nullable=False),
    Column("listed", Integer),
    Column("fetched", Integer),
    Column("inserted", Integer),
    Column("updated", Integer),
    Column("unchanged", Integer),
    Column("deleted", Integer),
    Column("failed", Integer),
    Column("cursor_before", DateTime),
    Column("cursor_after", DateTime),
    Column("error", Text),
    Column("export", Text),  # an export sync's --from-export, as export_files.export names it (0009)
    # The order runs started in, which status shows, from a sequence: the clock can step back (0015).
    Column("run_seq", BigInteger, server_default=text("nextval('sync_runs_run_seq')")),
    Column("vanished", Integer),  # listed, then deleted in Encord before their fetch (0021)
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("branch_scope", Text, nullable=False),
    Column("cursor", DateTime),
    Column("ontology_fingerprint", Text),
    Column("full_listing_at", DateTime),
    Column("runs_since_full_listing", Integer),
    Column("updated_at", DateTime),
    PrimaryKeyConstraint("project_hash", "branch_scope"),
)

sync_errors = Table(
    "sync_errors",
    metadata,
    Column("error_id", Text, primary_key=True),
    Column("run_id", Text),
    Column("project_hash", Text),
    Column("label_hash", Text),
    Column("data_title", Text),
    Column("field", Text),
    Column("reason", Text, nullable=False),
    Column("source", Text),
    Column("occurred_at", DateTime, nullable=False),
    Column("kept", Boolean),  # true: the row loaded with its problems flagged; else it was quarantined (0003)
    Column("first_occurred_at", DateTime),  # seen again, a failure keeps one row: occurred_at is the last time (0007)
    Column("resolved_at", DateTime),  # when a later run found the problem gone; NULL: failing still (0008)
    Index("ix_sync_errors_label", "label_hash"),
)

export_files = Table(
    "export_files",
    metadata,
    Column("project_hash", Text, nullable=False),
    Column("export", Text, nullable=False),  # the --from-export path or URL (redacted) the file was read under
    Column("name", Text, nullable=False),  # its path in that directory; a single file's name
    Column("version", Text, nullable=False),  # size, modification and change times or ETag, as listed
    Column("ontology_fingerprint", Text, nullable=False),  # the ontology its rows were normalized with
    Column("run_id", Text),
    Column("read_at", DateTime),
    PrimaryKeyConstraint("project_hash", "export", "name"),
)

extracted_frames = Table(
    "extracted_frames",
    metadata,
    Column("dest", Text, nullable=False),
    Column("project_hash", Text, nullable=False),
    Column("data_hash", Text, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("format", Text, nullable=False),
    Column("uri", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("bytes", BigInteger),
    Column("width", Integer),
    Column("height", Integer),
    Column("timestamp_s", Double),
    Column("video_fingerprint", Text),
    Column("run_id", Text),
    Column("extracted_at", DateTime),
    PrimaryKeyConstraint("dest", "project_hash", "data_hash", "frame", "format"),
)

# Tables whose rows all belong to one label row: the loader replaces them by label_hash.
LABEL_ROW_TABLES = (branches, raw_label_rows, frames, objects, object_frames, classifications, classification_frames,
                    attributes, annotation_ranges)

# On DuckDB these have no primary key and no index (migration 0004): DuckDB holds indexes whole in
# memory and rewrites them at every checkpoint. Their keys still hold: the loader replaces a label
# row's rows as a whole and normalize refuses a label row whose keys repeat (tests check both).
UNKEYED_ON_DUCKDB = (raw_label_rows, frames, objects, object_frames, classifications, classification_frames, attributes,
                     annotation_ranges)

_KINDS = {Text: "text", Integer: "integer", BigInteger: "bigint", Double: "double", Boolean: "boolean",
          DateTime: "datetime", JSON: "json"}


def column_specs(tables=(data_units, *LABEL_ROW_TABLES)) -> TableColumns:
    """The columns of `tables` as plain data (connector/columns.py), for checking and staging rows."""
    return {table.name: tuple(ColumnSpec(c.name, _KINDS[type(c.type)], bool(c.nullable), bool(c.primary_key),
                                         bool(c.primary_key) or any(c.name in index.columns for index in table.indexes))
                              for c in table.columns) for table in tables}
