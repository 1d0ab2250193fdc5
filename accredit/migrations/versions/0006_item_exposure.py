"""Item exposure: where each item version may be used.

Every version stored so far was written before items stated a use, and the
default use is accreditation only, so existing rows become exactly that.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('for_accreditation', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('for_practice', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_item_versions_used_somewhere'), 'for_accreditation OR for_practice'
        )


def downgrade():
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_item_versions_used_somewhere'), type_='check')
        batch_op.drop_column('for_practice')
        batch_op.drop_column('for_accreditation')
