"""model registry: models, versions (SemVer), aliases and tags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('experiment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_counter', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['ml_experiments.id'], name=op.f('fk_ml_models_experiment_id_ml_experiments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_models_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ml_models_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_models')),
    sa.UniqueConstraint('experiment_id', name=op.f('uq_ml_models_experiment_id')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_ml_models_project_id_name'))
    )
    op.create_table('ml_model_tags',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_model_tags_model_id_ml_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_ml_model_tags'))
    )
    op.create_table('ml_model_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.String(length=255), nullable=False),
    sa.Column('semver_major', sa.BigInteger(), nullable=False),
    sa.Column('semver_minor', sa.BigInteger(), nullable=False),
    sa.Column('semver_patch', sa.BigInteger(), nullable=False),
    sa.Column('semver_is_release', sa.Integer(), nullable=False),
    sa.Column('semver_prerelease', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('user_name', sa.String(length=255), nullable=False),
    sa.Column('creation_time', sa.BigInteger(), nullable=False),
    sa.Column('last_update_time', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_model_versions_candidate_id_ml_candidates'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_model_versions_model_id_ml_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ml_model_versions_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ml_model_versions_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_model_versions')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_ml_model_versions_candidate_id')),
    sa.UniqueConstraint('model_id', 'sequence', name=op.f('uq_ml_model_versions_model_id_sequence')),
    sa.UniqueConstraint('model_id', 'version', name=op.f('uq_ml_model_versions_model_id_version'))
    )
    with op.batch_alter_table('ml_model_versions', schema=None) as batch_op:
        batch_op.create_index('ix_ml_model_versions_semver', ['model_id', 'semver_major', 'semver_minor', 'semver_patch', 'semver_is_release'], unique=False)

    op.create_table('ml_model_aliases',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['ml_models.id'], name=op.f('fk_ml_model_aliases_model_id_ml_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['ml_model_versions.id'], name=op.f('fk_ml_model_aliases_version_id_ml_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'alias', name=op.f('pk_ml_model_aliases'))
    )
    op.create_table('ml_model_version_tags',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['ml_model_versions.id'], name=op.f('fk_ml_model_version_tags_version_id_ml_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'key', name=op.f('pk_ml_model_version_tags'))
    )


def downgrade() -> None:
    op.drop_table('ml_model_version_tags')
    op.drop_table('ml_model_aliases')
    with op.batch_alter_table('ml_model_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_ml_model_versions_semver')

    op.drop_table('ml_model_versions')
    op.drop_table('ml_model_tags')
    op.drop_table('ml_models')
