"""mutual aid closure: a plan's closure (decision, final period, disclosure) and the conversion offer's answers

Revision ID: 0011_mutual_aid_closure
Revises: 0010_policies
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_mutual_aid_closure'
down_revision = '0010_policies'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mutual_aid_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.String(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=400), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('offer', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('final_notice_date', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('disclosure', sa.JSON(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['mutual_aid_plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id')
    )
    op.create_table('mutual_aid_conversions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('closure_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=True),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['closure_id'], ['mutual_aid_closures.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['mutual_aid_members.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id'),
    sa.UniqueConstraint('policy_id')
    )
    with op.batch_alter_table('mutual_aid_conversions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mutual_aid_conversions_closure_id'), ['closure_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mutual_aid_conversions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mutual_aid_conversions_closure_id'))
    op.drop_table('mutual_aid_conversions')
    op.drop_table('mutual_aid_closures')
