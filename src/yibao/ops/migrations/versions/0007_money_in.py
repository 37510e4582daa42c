"""money in: an enrolment's cover dates (window and waiting period), Huiminbao's start, continuity and cap raise

Revision ID: 0007_money_in
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_money_in'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrolments') as batch:
        batch.add_column(sa.Column('cover_start', sa.Date(), nullable=True))
        batch.add_column(sa.Column('cover_end', sa.Date(), nullable=True))
        batch.add_column(sa.Column('huiminbao_start', sa.Date(), nullable=True))
        batch.add_column(sa.Column('consecutive_years', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('cap_raise', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('enrolments') as batch:
        for column in ('cap_raise', 'consecutive_years', 'huiminbao_start', 'cover_end', 'cover_start'):
            batch.drop_column(column)
