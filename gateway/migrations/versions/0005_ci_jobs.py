"""CI jobs: runs linked to CI jobs (ml_candidates.ci_job_id), CI project bindings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

Every change here is an ALTER that SQLite does in place (``recreate="never"``): rebuilding
``ml_candidates`` would mean dropping it, and with foreign keys on, that deletes its children.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ci_project_bindings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('ci_project', sa.String(length=1000), nullable=False),
    sa.Column('ci_project_key', sa.String(length=1000), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('access_level', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('access_level IN (10, 20, 30)', name=op.f('ck_ci_project_bindings_access_level')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ci_project_bindings_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ci_project_bindings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ci_project_bindings')),
    sa.UniqueConstraint('issuer', 'ci_project_key', name=op.f('uq_ci_project_bindings_issuer_ci_project_key'))
    )
    op.create_index(op.f('ix_ci_project_bindings_project_id'), 'ci_project_bindings', ['project_id'], unique=False)
    op.create_index(op.f('ix_ci_project_bindings_user_id'), 'ci_project_bindings', ['user_id'], unique=False)

    with op.batch_alter_table('ml_candidates', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('ci_job_id', sa.BigInteger(), nullable=True))
    op.create_index('ix_ml_candidates_project_ci_job', 'ml_candidates', ['project_id', 'ci_job_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ml_candidates_project_ci_job', table_name='ml_candidates')
    with op.batch_alter_table('ml_candidates', recreate='never') as batch_op:
        batch_op.drop_column('ci_job_id')

    op.drop_index(op.f('ix_ci_project_bindings_user_id'), table_name='ci_project_bindings')
    op.drop_index(op.f('ix_ci_project_bindings_project_id'), table_name='ci_project_bindings')
    op.drop_table('ci_project_bindings')
