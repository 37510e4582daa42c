"""policies: voluntary products' policies, their premium parts and the benefits claimed under them

Revision ID: 0010_policies
Revises: 0009_hospital_payments
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_policies'
down_revision = '0009_hospital_payments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('requested_start', sa.Date(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('declared', sa.JSON(), nullable=False),
    sa.Column('sold_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sold_by', sa.String(length=64), nullable=False),
    sa.Column('sale_day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.person_id'], ),
    sa.ForeignKeyConstraint(['region'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_policies_person_product', 'policies', ['person_id', 'product'], unique=False)
    op.create_index('ix_policies_product_region_year', 'policies', ['product', 'region', 'year'], unique=False)
    op.create_table('policy_premiums',
    sa.Column('contribution_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], ),
    sa.PrimaryKeyConstraint('contribution_id')
    )
    op.create_index(op.f('ix_policy_premiums_policy_id'), 'policy_premiums', ['policy_id'], unique=False)
    op.create_table('benefit_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lump_sum', sa.String(length=64), nullable=True),
    sa.Column('claim_id', sa.String(length=64), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('payment_reference', sa.String(length=128), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.claim_id'], ),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payment_reference'),
    sa.UniqueConstraint('policy_id', 'claim_id'),
    sa.UniqueConstraint('policy_id', 'lump_sum')
    )
    op.create_index('ix_benefit_claims_policy', 'benefit_claims', ['policy_id', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_benefit_claims_policy', table_name='benefit_claims')
    op.drop_table('benefit_claims')
    op.drop_index(op.f('ix_policy_premiums_policy_id'), table_name='policy_premiums')
    op.drop_table('policy_premiums')
    op.drop_index('ix_policies_product_region_year', table_name='policies')
    op.drop_index('ix_policies_person_product', table_name='policies')
    op.drop_table('policies')
