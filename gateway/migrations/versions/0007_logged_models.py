"""MLflow 3 logged models: models, their tags, params and metrics, run links, registrations

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

Only new tables: the link to model versions is its own table (``ml_logged_model_registrations``)
rather than a column on ``ml_model_versions``, so SQLite never has to rebuild that table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml_logged_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('eid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('experiment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=False),
    sa.Column('model_type', sa.String(length=500), nullable=True),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=8), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name=op.f('ck_ml_logged_models_lifecycle_stage')),
    sa.CheckConstraint("status IN ('UNSPECIFIED', 'PENDING', 'READY', 'FAILED')", name=op.f('ck_ml_logged_models_status')),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_logged_models_candidate_id_ml_candidates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['experiment_id'], ['ml_experiments.id'], name=op.f('fk_ml_logged_models_experiment_id_ml_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_logged_models_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ml_logged_models_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_logged_models')),
    sa.UniqueConstraint('eid', name=op.f('uq_ml_logged_models_eid'))
    )
    op.create_index('ix_ml_logged_models_candidate', 'ml_logged_models', ['candidate_id'], unique=False)
    op.create_index('ix_ml_logged_models_experiment_name', 'ml_logged_models', ['experiment_id', 'name'], unique=False)
    op.create_table('ml_candidate_model_links',
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('logged_model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("direction IN ('input', 'output')", name=op.f('ck_ml_candidate_model_links_direction')),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_model_links_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['logged_model_id'], ['ml_logged_models.id'], name=op.f('fk_ml_candidate_model_links_logged_model_id_ml_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', 'logged_model_id', 'direction', 'step', name=op.f('pk_ml_candidate_model_links'))
    )
    op.create_index('ix_ml_candidate_model_links_model', 'ml_candidate_model_links', ['logged_model_id'], unique=False)
    op.create_table('ml_logged_model_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('logged_model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('dataset_name', sa.String(length=500), nullable=True),
    sa.Column('dataset_digest', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_logged_model_metrics_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['logged_model_id'], ['ml_logged_models.id'], name=op.f('fk_ml_logged_model_metrics_logged_model_id_ml_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_logged_model_metrics')),
    sa.UniqueConstraint('logged_model_id', 'key', 'timestamp', 'step', 'candidate_id', name='uq_ml_logged_model_metrics_point')
    )
    op.create_index('ix_ml_logged_model_metrics_candidate', 'ml_logged_model_metrics', ['candidate_id'], unique=False)
    op.create_table('ml_logged_model_params',
    sa.Column('logged_model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['logged_model_id'], ['ml_logged_models.id'], name=op.f('fk_ml_logged_model_params_logged_model_id_ml_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('logged_model_id', 'key', name=op.f('pk_ml_logged_model_params'))
    )
    op.create_table('ml_logged_model_registrations',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('logged_model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['logged_model_id'], ['ml_logged_models.id'], name='fk_ml_logged_model_registrations_model', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['ml_model_versions.id'], name=op.f('fk_ml_logged_model_registrations_version_id_ml_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_ml_logged_model_registrations'))
    )
    op.create_index(op.f('ix_ml_logged_model_registrations_logged_model_id'), 'ml_logged_model_registrations', ['logged_model_id'], unique=False)
    op.create_table('ml_logged_model_tags',
    sa.Column('logged_model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['logged_model_id'], ['ml_logged_models.id'], name=op.f('fk_ml_logged_model_tags_logged_model_id_ml_logged_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('logged_model_id', 'key', name=op.f('pk_ml_logged_model_tags'))
    )


def downgrade() -> None:
    op.drop_table('ml_logged_model_tags')
    op.drop_index(op.f('ix_ml_logged_model_registrations_logged_model_id'), table_name='ml_logged_model_registrations')
    op.drop_table('ml_logged_model_registrations')
    op.drop_table('ml_logged_model_params')
    op.drop_index('ix_ml_logged_model_metrics_candidate', table_name='ml_logged_model_metrics')
    op.drop_table('ml_logged_model_metrics')
    op.drop_index('ix_ml_candidate_model_links_model', table_name='ml_candidate_model_links')
    op.drop_table('ml_candidate_model_links')
    op.drop_index('ix_ml_logged_models_experiment_name', table_name='ml_logged_models')
    op.drop_index('ix_ml_logged_models_candidate', table_name='ml_logged_models')
    op.drop_table('ml_logged_models')
