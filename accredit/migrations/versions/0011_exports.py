"""Exports and API tokens: each export recorded with its file's SHA-256, bearer tokens kept
as hashes, and each attempt's form id (existing attempts get theirs from their items).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:44:32.356002

"""
import hashlib

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('schema_version', sa.String(length=12), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('results', 'profiles', 'marking', 'items', 'research')", name=op.f('ck_exports_kind_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exports_created_by_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_exports_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports')),
    sa.UniqueConstraint('file_name', name=op.f('uq_exports_file_name'))
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exports_created_by_id'), ['created_by_id'], unique=False)

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_id', sa.String(length=16), nullable=True))
    _backfill_form_ids()



def _form_id(positions):
    text = ";".join(f"{position}:{version}" for position, version in sorted(positions))
    return "F" + hashlib.sha256(text.encode()).hexdigest()[:15]


def _backfill_form_ids():
    bind = op.get_bind()
    items = sa.table("attempt_items", sa.column("attempt_id"), sa.column("position"),
                     sa.column("item_version_id"))
    attempts = sa.table("attempts", sa.column("id"), sa.column("form_id"))
    found = {}
    for attempt_id, position, version in bind.execute(
        sa.select(items.c.attempt_id, items.c.position, items.c.item_version_id)
    ):
        found.setdefault(attempt_id, []).append((position, version))
    updates = [{"b_id": a, "b_form": _form_id(p)} for a, p in found.items()]
    statement = (
        attempts.update().where(attempts.c.id == sa.bindparam("b_id"))
        .values(form_id=sa.bindparam("b_form"))
    )
    for start in range(0, len(updates), 1000):
        bind.execute(statement, updates[start:start + 1000])


def downgrade():
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('form_id')

    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_created_by_id'))

    op.drop_table('exports')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
