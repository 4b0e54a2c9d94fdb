"""Pending deploy keys and S3 keys awaiting revocation; pinned Proxmox parameters

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deploy_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_public_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_private_key_encrypted', sa.Text(), nullable=True))

    with op.batch_alter_table('storage_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('previous_access_key_id', sa.String(length=255), nullable=True))

    with op.batch_alter_table('operator_parameters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proxmox', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('operator_parameters', schema=None) as batch_op:
        batch_op.drop_column('proxmox')

    with op.batch_alter_table('storage_keys', schema=None) as batch_op:
        batch_op.drop_column('previous_access_key_id')
        batch_op.drop_column('previous_name')

    with op.batch_alter_table('deploy_keys', schema=None) as batch_op:
        batch_op.drop_column('next_private_key_encrypted')
        batch_op.drop_column('next_public_key')
