"""Last connection test per provider settings section

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 03:08:24.685438

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provider_setting_tests',
    sa.Column('section', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('tested_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('section', name=op.f('pk_provider_setting_tests'))
    )


def downgrade():
    op.drop_table('provider_setting_tests')
