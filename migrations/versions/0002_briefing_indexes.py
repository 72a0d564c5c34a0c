"""Indexes for the morning briefing: open needs by status and age, new offers by department.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.create_index('ix_need_status_created_at', ['status', 'created_at', 'category'], unique=False)
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index('ix_offer_created_at_department', ['created_at', 'department'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_created_at_department')
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_index('ix_need_status_created_at')
