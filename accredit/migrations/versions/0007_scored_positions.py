"""Scored positions as rows: each position's item version, key used and marks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:40:00

"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
    op.create_table('scored_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_version_id', sa.Integer(), nullable=False),
    sa.Column('key', JSONDocument, nullable=True),
    sa.Column('answer', JSONDocument, nullable=True),
    sa.Column('marks', sa.Double(), nullable=False),
    sa.Column('max_marks', sa.Double(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('pretest', sa.Boolean(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('marks >= 0 AND marks <= max_marks', name=op.f('ck_scored_positions_marks_in_range')),
    sa.ForeignKeyConstraint(['attempt_id', 'position'], ['attempt_items.attempt_id', 'attempt_items.position'], name='fk_scored_positions_attempt_item'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_scored_positions_item_id_items')),
    sa.ForeignKeyConstraint(['item_version_id'], ['item_versions.id'], name=op.f('fk_scored_positions_item_version_id_item_versions')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_scored_positions_result_id_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scored_positions')),
    sa.UniqueConstraint('result_id', 'revision', 'position', name='uq_scored_positions')
    )
    with op.batch_alter_table('scored_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scored_positions_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_scored_positions_item_version', ['item_version_id'], unique=False)
    _backfill()


def _backfill():
    """Turn each stored result's per-position JSON into rows of its first revision."""
    connection = op.get_bind()
    results = connection.execute(sa.text(
        "SELECT id, attempt_id, items, scored_at FROM results"
    )).all()
    if not results:
        return
    slots = {
        (row.attempt_id, row.position): (row.item_id, row.item_version_id)
        for row in connection.execute(sa.text(
            "SELECT attempt_id, position, item_id, item_version_id FROM attempt_items"
        ))
    }
    table = sa.table(
        'scored_positions',
        *(sa.column(name) for name in (
            'result_id', 'revision', 'attempt_id', 'position', 'item_id', 'item_version_id',
            'marks', 'max_marks', 'pending', 'pretest', 'scored_at')),
        sa.column('key', JSONDocument), sa.column('answer', JSONDocument),
    )
    rows = []
    for result in results:
        items = result.items if isinstance(result.items, list) else json.loads(result.items)
        for item in items:
            item_id, version_id = slots[(result.attempt_id, item['position'])]
            rows.append({
                'result_id': result.id, 'revision': 1, 'attempt_id': result.attempt_id,
                'position': item['position'], 'item_id': item_id, 'item_version_id': version_id,
                'key': item.get('key'), 'answer': item.get('answer'),
                'marks': item['marks'], 'max_marks': item['max_marks'],
                'pending': bool(item['pending']), 'pretest': bool(item['pretest']),
                'scored_at': result.scored_at,
            })
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    with op.batch_alter_table('scored_positions', schema=None) as batch_op:
        batch_op.drop_index('ix_scored_positions_item_version')
        batch_op.drop_index(batch_op.f('ix_scored_positions_item_id'))
    op.drop_table('scored_positions')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_column('revision')
