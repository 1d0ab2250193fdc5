"""Key decisions, result revisions, analysis sign-offs and background jobs: rescoring as facts, and each result's history.

A key decision is a new key version for an item in an assessment (keep, rekey,
accept several keys, credit everyone, void); stored responses and item
versions never change. Each revision of a result gets a row saying what it
came to and why. Existing results get one row for their current revision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:14:52.391369

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('key_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('key', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('keep', 'rekey', 'keys', 'credit', 'void')", name=op.f('ck_key_decisions_decision_known')),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_key_decisions_has_reason')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_key_decisions_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_key_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_key_decisions_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_decisions')),
    sa.UniqueConstraint('assessment_id', 'item_id', 'version', name='uq_key_decisions_version')
    )
    with op.batch_alter_table('key_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_decisions_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('result_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('raw', sa.Double(), nullable=False),
    sa.Column('maximum', sa.Double(), nullable=False),
    sa.Column('cut', sa.Double(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('cause', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('key_decision_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cause IN ('scored', 'marked', 'amended', 'rekeyed', 'recomputed', 'backfilled')", name=op.f('ck_result_revisions_cause_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_result_revisions_actor_id_users')),
    sa.ForeignKeyConstraint(['key_decision_id'], ['key_decisions.id'], name=op.f('fk_result_revisions_key_decision_id_key_decisions')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_result_revisions_result_id_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_revisions')),
    sa.UniqueConstraint('result_id', 'revision', name='uq_result_revisions')
    )
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_jobs_state_known')),
    sa.CheckConstraint('done >= 0 AND (total IS NULL OR done <= total)', name=op.f('ck_jobs_progress')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_jobs_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_table('analysis_signoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('statistics', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_analysis_signoffs_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_analysis_signoffs_signed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_signoffs'))
    )
    with op.batch_alter_table('analysis_signoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_signoffs_assessment_id'), ['assessment_id'], unique=False)

    with op.batch_alter_table('scored_positions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('void', sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill()



def _backfill():
    """One revision row per existing result, for the revision it is at now."""
    op.execute(sa.text(
        "INSERT INTO result_revisions (result_id, revision, raw, maximum, cut, passed, cause, "
        "reason, at) SELECT id, revision, raw, maximum, cut, passed, "
        "CASE WHEN revision = 1 THEN 'scored' ELSE 'backfilled' END, '', scored_at FROM results"
    ))


def downgrade():
    with op.batch_alter_table('scored_positions', schema=None) as batch_op:
        batch_op.drop_column('void')

    op.drop_table('result_revisions')
    op.drop_table('jobs')
    with op.batch_alter_table('analysis_signoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_signoffs_assessment_id'))

    op.drop_table('analysis_signoffs')
    with op.batch_alter_table('key_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_decisions_assessment_id'))

    op.drop_table('key_decisions')
