"""twin cases: a case per flagged employer and year, with its flagged workers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('twin_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('arrears', sa.BigInteger(), nullable=False),
    sa.Column('late_fee', sa.BigInteger(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('outcome_note', sa.Text(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], ),
    sa.ForeignKeyConstraint(['region'], ['regions.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('employer_id', 'year')
    )
    op.create_table('twin_case_workers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('ric', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('monthly_wage', sa.BigInteger(), nullable=False),
    sa.Column('monthly_shortfall', sa.BigInteger(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('contributions_due', sa.BigInteger(), nullable=False),
    sa.Column('late_fee', sa.BigInteger(), nullable=False),
    sa.Column('enrolled_person_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['twin_cases.id'], ),
    sa.ForeignKeyConstraint(['enrolled_person_id'], ['persons.person_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'inspection_id')
    )
    with op.batch_alter_table('twin_case_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_twin_case_workers_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('twin_case_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_twin_case_workers_case_id'))
    op.drop_table('twin_case_workers')
    op.drop_table('twin_cases')
