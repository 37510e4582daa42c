"""hospital payments: monthly statements, payment items, bank batches and lines, deposit decisions;
a facility's bank account

Revision ID: 0009_hospital_payments
Revises: 0008_family_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_hospital_payments'
down_revision = '0008_family_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('facilities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_account', sa.String(length=64), nullable=True))
    op.create_table('payment_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('owed', sa.BigInteger(), nullable=False),
    sa.Column('withheld', sa.BigInteger(), nullable=False),
    sa.Column('payable', sa.BigInteger(), nullable=False),
    sa.Column('deposit_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('made_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('region', 'facility_id', 'month')
    )
    with op.batch_alter_table('payment_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_statements_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_statements_region'), ['region'], unique=False)
    op.create_table('payment_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('made_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id')
    )
    with op.batch_alter_table('payment_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_batches_region'), ['region'], unique=False)
    op.create_table('payment_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('payee_name', sa.String(length=200), nullable=False),
    sa.Column('bank_account', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batches.id'], ),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'line_no')
    )
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_lines_batch_id'), ['batch_id'], unique=False)
    op.create_table('payment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['payment_lines.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['payment_statements.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payment_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_items_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_items_region'), ['region'], unique=False)
    op.create_table('deposit_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('released', sa.BigInteger(), nullable=False),
    sa.Column('kept', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deposit_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deposit_decisions_region'), ['region'], unique=False)


def downgrade() -> None:
    op.drop_table('deposit_decisions')
    op.drop_table('payment_items')
    op.drop_table('payment_lines')
    op.drop_table('payment_batches')
    op.drop_table('payment_statements')
    with op.batch_alter_table('facilities', schema=None) as batch_op:
        batch_op.drop_column('bank_account')
