"""CI jobs: runs linked to CI jobs (ml_candidates.ci_job_id)

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
    with op.batch_alter_table('ml_candidates', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('ci_job_id', sa.BigInteger(), nullable=True))
    op.create_index('ix_ml_candidates_project_ci_job', 'ml_candidates', ['project_id', 'ci_job_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ml_candidates_project_ci_job', table_name='ml_candidates')
    with op.batch_alter_table('ml_candidates', recreate='never') as batch_op:
        batch_op.drop_column('ci_job_id')

