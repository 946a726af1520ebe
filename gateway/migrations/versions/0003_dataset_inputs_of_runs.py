"""dataset inputs of runs (runs/log-inputs)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ml_candidate_inputs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('candidate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('digest', sa.String(length=36), nullable=False),
    sa.Column('source_type', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('schema', sa.Text(), nullable=True),
    sa.Column('profile', sa.Text(), nullable=True),
    sa.Column('context', sa.String(length=500), nullable=True),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['ml_candidates.id'], name=op.f('fk_ml_candidate_inputs_candidate_id_ml_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ml_candidate_inputs')),
    sa.UniqueConstraint('candidate_id', 'name', 'digest', name=op.f('uq_ml_candidate_inputs_candidate_id_name_digest'))
    )


def downgrade() -> None:
    op.drop_table('ml_candidate_inputs')
