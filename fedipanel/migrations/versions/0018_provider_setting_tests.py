"""Last connection test per provider settings section

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 03:08:24.685438

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
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
