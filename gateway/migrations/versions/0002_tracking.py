"""tracking: experiments, candidates, params, metadata, metrics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:52:14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml_experiments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('iid', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=8), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name=op.f('ck_ml_experiments_lifecycle_stage')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_experiments_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ml_experiments_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_experiments')),
    sa.UniqueConstraint('project_id', 'iid', name=op.f('uq_ml_experiments_project_id_iid')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_ml_experiments_project_id_name'))
    )
    op.create_table('ml_project_counters',
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_project_counters_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'kind', name=op.f('pk_ml_project_counters'))
    )
    op.create_table('ml_candidates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('eid', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('experiment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('iid', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('start_time', sa.BigInteger(), nullable=True),
    sa.Column('end_time', sa.BigInteger(), nullable=True),
    sa.Column('lifecycle_stage', sa.String(length=8), nullable=False),
    sa.Column('deleted_time', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('user_name', sa.String(length=255), nullable=False),
    sa.CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name=op.f('ck_ml_candidates_lifecycle_stage')),
    sa.CheckConstraint("status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')", name=op.f('ck_ml_candidates_status')),
    sa.ForeignKeyConstraint(['experiment_id'], ['ml_experiments.id'], name=op.f('fk_ml_candidates_experiment_id_ml_experiments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_candidates_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ml_candidates_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_candidates')),
    sa.UniqueConstraint('eid', name=op.f('uq_ml_candidates_eid')),
    sa.UniqueConstraint('project_id', 'iid', name=op.f('uq_ml_candidates_project_id_iid'))
    )
    with op.batch_alter_table('ml_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_ml_candidates_experiment_start', ['experiment_id', 'start_time'], unique=False)

    op.create_table('ml_experiment_tags',
    sa.Column('experiment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['ml_experiments.id'], name=op.f('fk_ml_experiment_tags_experiment_id_ml_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experiment_id', 'key', name=op.f('pk_ml_experiment_tags'))
    )
    op.create_table('ml_candidate_latest_metrics',
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_latest_metrics_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', 'key', name=op.f('pk_ml_candidate_latest_metrics'))
    )
    with op.batch_alter_table('ml_candidate_latest_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_ml_latest_metrics_key_value', ['key', 'value'], unique=False)

    op.create_table('ml_candidate_metadata',
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_metadata_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', 'key', name=op.f('pk_ml_candidate_metadata'))
    )
    op.create_table('ml_candidate_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('is_nan', sa.Boolean(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_metrics_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_candidate_metrics'))
    )
    with op.batch_alter_table('ml_candidate_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_ml_candidate_metrics_history', ['candidate_id', 'key', 'step', 'timestamp'], unique=False)

    op.create_table('ml_candidate_params',
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_params_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', 'key', name=op.f('pk_ml_candidate_params'))
    )


def downgrade() -> None:
    op.drop_table('ml_candidate_params')
    with op.batch_alter_table('ml_candidate_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_candidate_metrics_history')

    op.drop_table('ml_candidate_metrics')
    op.drop_table('ml_candidate_metadata')
    with op.batch_alter_table('ml_candidate_latest_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_latest_metrics_key_value')

    op.drop_table('ml_candidate_latest_metrics')
    op.drop_table('ml_experiment_tags')
    with op.batch_alter_table('ml_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_candidates_experiment_start')

    op.drop_table('ml_candidates')
    op.drop_table('ml_project_counters')
    op.drop_table('ml_experiments')
