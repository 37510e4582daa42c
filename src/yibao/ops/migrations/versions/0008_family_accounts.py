"""family accounts: the close relatives who may use a member's individual account (家庭共济)

Revision ID: 0008_family_accounts
Revises: 0007_money_in
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_family_accounts'
down_revision = '0007_money_in'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('family_relatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.String(length=64), nullable=False),
    sa.Column('relative_id', sa.String(length=64), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['persons.person_id'], ),
    sa.ForeignKeyConstraint(['relative_id'], ['persons.person_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('holder_id', 'relative_id')
    )
    with op.batch_alter_table('family_relatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_relatives_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_family_relatives_relative_id'), ['relative_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('family_relatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_relatives_relative_id'))
        batch_op.drop_index(batch_op.f('ix_family_relatives_holder_id'))
    op.drop_table('family_relatives')
