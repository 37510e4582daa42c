"""uploaded mutual-aid plans: a plan in force keeps its YAML text (never a path on the server)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mutual_aid_plans') as batch:
        batch.add_column(sa.Column('definition', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mutual_aid_plans') as batch:
        batch.drop_column('definition')
