"""resource names unbounded: a DNS record's host name may exceed 255 characters

A configuration may name a 63-character subdomain of a 200-character domain. SQLite never
enforced VARCHAR(255); PostgreSQL refused to record such a DNS record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:48:37.473507

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.alter_column('name',
               existing_type=sa.VARCHAR(length=255),
               type_=sa.Text(),
               existing_nullable=False)


def downgrade():
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.alter_column('name',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=255),
               existing_nullable=False)
