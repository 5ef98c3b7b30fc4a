"""Initial tables: every table of DESIGN.md, on DuckDB and Postgres

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attributes',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('owner_hash', sa.Text(), nullable=False),
    sa.Column('answer_seq', sa.Integer(), nullable=False),
    sa.Column('owner_kind', sa.Text(), nullable=False),
    sa.Column('attribute_hash', sa.Text(), nullable=True),
    sa.Column('attribute_name', sa.Text(), nullable=True),
    sa.Column('attribute_type', sa.Text(), nullable=True),
    sa.Column('option_hash', sa.Text(), nullable=True),
    sa.Column('option_name', sa.Text(), nullable=True),
    sa.Column('option_value', sa.Text(), nullable=True),
    sa.Column('text_value', sa.Text(), nullable=True),
    sa.Column('number_value', sa.Double(), nullable=True),
    sa.Column('dynamic', sa.Boolean(), nullable=False),
    sa.Column('start_frame', sa.Integer(), nullable=True),
    sa.Column('end_frame', sa.Integer(), nullable=True),
    sa.Column('parent_attribute_hash', sa.Text(), nullable=True),
    sa.Column('parent_option_hash', sa.Text(), nullable=True),
    sa.Column('manual_annotation', sa.Boolean(), nullable=True),
    sa.Column('track_hash', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash', 'owner_hash', 'answer_seq')
    )
    op.create_table('branches',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('data_hash', sa.Text(), nullable=False),
    sa.Column('branch_name', sa.Text(), nullable=False),
    sa.Column('label_status', sa.Text(), nullable=True),
    sa.Column('annotation_task_status', sa.Text(), nullable=True),
    sa.Column('workflow_stage', sa.Text(), nullable=True),
    sa.Column('workflow_stage_uuid', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('last_edited_at', sa.DateTime(), nullable=True),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('content_sha256', sa.Text(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash')
    )
    op.create_index('ix_branches_data', 'branches', ['project_hash', 'data_hash'], unique=False)
    op.create_table('classification_frames',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('classification_hash', sa.Text(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('label_hash', 'classification_hash', 'frame')
    )
    op.create_index('ix_classification_frames_frame', 'classification_frames', ['label_hash', 'frame'], unique=False)
    op.create_table('classifications',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('classification_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('manual_annotation', sa.Boolean(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('last_edited_by', sa.Text(), nullable=True),
    sa.Column('last_edited_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash', 'classification_hash')
    )
    op.create_table('data_units',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('data_hash', sa.Text(), nullable=False),
    sa.Column('data_title', sa.Text(), nullable=True),
    sa.Column('data_type', sa.Text(), nullable=True),
    sa.Column('file_type', sa.Text(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('fps', sa.Double(), nullable=True),
    sa.Column('duration_s', sa.Double(), nullable=True),
    sa.Column('frame_count', sa.Integer(), nullable=True),
    sa.Column('dataset_hash', sa.Text(), nullable=True),
    sa.Column('dataset_title', sa.Text(), nullable=True),
    sa.Column('data_link', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'data_hash')
    )
    op.create_index('ix_data_units_title', 'data_units', ['data_title'], unique=False)
    op.create_table('extracted_frames',
    sa.Column('dest', sa.Text(), nullable=False),
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('data_hash', sa.Text(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('format', sa.Text(), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('timestamp_s', sa.Double(), nullable=True),
    sa.Column('video_fingerprint', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Text(), nullable=True),
    sa.Column('extracted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('dest', 'project_hash', 'data_hash', 'frame', 'format')
    )
    op.create_table('frames',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('data_hash', sa.Text(), nullable=False),
    sa.Column('data_title', sa.Text(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('timestamp_s', sa.Double(), nullable=True),
    sa.Column('data_link', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash', 'frame')
    )
    op.create_table('object_frames',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('object_hash', sa.Text(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('shape', sa.Text(), nullable=True),
    sa.Column('x', sa.Double(), nullable=True),
    sa.Column('y', sa.Double(), nullable=True),
    sa.Column('w', sa.Double(), nullable=True),
    sa.Column('h', sa.Double(), nullable=True),
    sa.Column('theta', sa.Double(), nullable=True),
    sa.Column('points', sa.JSON(), nullable=True),
    sa.Column('rings', sa.JSON(), nullable=True),
    sa.Column('geometry', sa.JSON(), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('manual_annotation', sa.Boolean(), nullable=True),
    sa.Column('event', sa.Text(), nullable=True),
    sa.Column('is_deleted', sa.Boolean(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('last_edited_by', sa.Text(), nullable=True),
    sa.Column('last_edited_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash', 'object_hash', 'frame')
    )
    op.create_index('ix_object_frames_frame', 'object_frames', ['label_hash', 'frame'], unique=False)
    op.create_table('objects',
    sa.Column('label_hash', sa.Text(), nullable=False),
    sa.Column('object_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('color', sa.Text(), nullable=True),
    sa.Column('shape', sa.Text(), nullable=True),
    sa.Column('object_number', sa.Integer(), nullable=True),
    sa.Column('first_frame', sa.Integer(), nullable=True),
    sa.Column('last_frame', sa.Integer(), nullable=True),
    sa.Column('frame_count', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('last_edited_by', sa.Text(), nullable=True),
    sa.Column('last_edited_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('label_hash', 'object_hash')
    )
    op.create_table('ontology_attributes',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=False),
    sa.Column('uid', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('type', sa.Text(), nullable=True),
    sa.Column('owner_feature_hash', sa.Text(), nullable=True),
    sa.Column('parent_attribute_hash', sa.Text(), nullable=True),
    sa.Column('parent_option_hash', sa.Text(), nullable=True),
    sa.Column('dynamic', sa.Boolean(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'feature_hash')
    )
    op.create_table('ontology_classifications',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=False),
    sa.Column('uid', sa.Integer(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('attribute_feature_hash', sa.Text(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'feature_hash')
    )
    op.create_table('ontology_objects',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=False),
    sa.Column('uid', sa.Integer(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('color', sa.Text(), nullable=True),
    sa.Column('shape', sa.Text(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'feature_hash')
    )
    op.create_table('ontology_options',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('feature_hash', sa.Text(), nullable=False),
    sa.Column('uid', sa.Text(), nullable=True),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('attribute_feature_hash', sa.Text(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'feature_hash')
    )
    op.create_table('projects',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('ontology_hash', sa.Text(), nullable=True),
    sa.Column('project_type', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('last_edited_at', sa.DateTime(), nullable=True),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash')
    )
    op.create_table('sync_errors',
    sa.Column('error_id', sa.Text(), nullable=False),
    sa.Column('run_id', sa.Text(), nullable=True),
    sa.Column('project_hash', sa.Text(), nullable=True),
    sa.Column('label_hash', sa.Text(), nullable=True),
    sa.Column('data_title', sa.Text(), nullable=True),
    sa.Column('field', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('error_id')
    )
    op.create_index('ix_sync_errors_label', 'sync_errors', ['label_hash'], unique=False)
    op.create_table('sync_runs',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('project_hash', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('listed', sa.Integer(), nullable=True),
    sa.Column('fetched', sa.Integer(), nullable=True),
    sa.Column('inserted', sa.Integer(), nullable=True),
    sa.Column('updated', sa.Integer(), nullable=True),
    sa.Column('unchanged', sa.Integer(), nullable=True),
    sa.Column('deleted', sa.Integer(), nullable=True),
    sa.Column('failed', sa.Integer(), nullable=True),
    sa.Column('cursor_before', sa.DateTime(), nullable=True),
    sa.Column('cursor_after', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('run_id')
    )
    op.create_table('sync_state',
    sa.Column('project_hash', sa.Text(), nullable=False),
    sa.Column('branch_scope', sa.Text(), nullable=False),
    sa.Column('cursor', sa.DateTime(), nullable=True),
    sa.Column('ontology_fingerprint', sa.Text(), nullable=True),
    sa.Column('full_listing_at', sa.DateTime(), nullable=True),
    sa.Column('runs_since_full_listing', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('project_hash', 'branch_scope')
    )


def downgrade() -> None:
    op.drop_table('sync_state')
    op.drop_table('sync_runs')
    op.drop_index('ix_sync_errors_label', table_name='sync_errors')
    op.drop_table('sync_errors')
    op.drop_table('projects')
    op.drop_table('ontology_options')
    op.drop_table('ontology_objects')
    op.drop_table('ontology_classifications')
    op.drop_table('ontology_attributes')
    op.drop_table('objects')
    op.drop_index('ix_object_frames_frame', table_name='object_frames')
    op.drop_table('object_frames')
    op.drop_table('frames')
    op.drop_table('extracted_frames')
    op.drop_index('ix_data_units_title', table_name='data_units')
    op.drop_table('data_units')
    op.drop_table('classifications')
    op.drop_index('ix_classification_frames_frame', table_name='classification_frames')
    op.drop_table('classification_frames')
    op.drop_index('ix_branches_data', table_name='branches')
    op.drop_table('branches')
    op.drop_table('attributes')
