"""Per-project artifact size limit: projects.max_artifacts_size (megabytes, GitLab's name)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

NULL means the instance default (``GATEWAY_ARTIFACT_MAX_FILE_BYTES``). A plain ADD COLUMN, which
SQLite does in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('max_artifacts_size', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('projects', recreate='never') as batch_op:
        batch_op.drop_column('max_artifacts_size')
