"""Kept item analysis runs: a large cohort's statistics computed by the worker and shown
from the stored run, and the run each sign-off signed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:25:48.877936

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('analysis_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('first_attempts_only', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('statistics', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('basis_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('basis_decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('basis_revised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_analysis_runs_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['computed_by_id'], ['users.id'], name=op.f('fk_analysis_runs_computed_by_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_analysis_runs_job_id_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_runs'))
    )
    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.create_index('ix_analysis_runs_latest', ['assessment_id', 'first_attempts_only', 'computed_at'], unique=False)

    with op.batch_alter_table('analysis_signoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_analysis_signoffs_run_id_analysis_runs'), 'analysis_runs', ['run_id'], ['id'])



def downgrade():
    with op.batch_alter_table('analysis_signoffs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_analysis_signoffs_run_id_analysis_runs'), type_='foreignkey')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('analysis_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_runs_latest')

    op.drop_table('analysis_runs')
