"""Marking and moderation: allocations, marks per criterion, agreed marks, moderation decisions.

Every table here holds facts that are only ever added. The database enforces
one original allocation per script and round, one mark per round, a marker
marking a script once (the moderator aside), one agreed mark per script and
one final decision per revision of a result. A lead assessor is an assessor with
``lead_assessor`` set.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:21:16.497170

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('marking_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.String(length=10), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('allocated_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("round IN ('first', 'second', 'third')", name=op.f('ck_marking_allocations_round_known')),
    sa.CheckConstraint('replaces_id IS NULL OR (reason IS NOT NULL AND allocated_by_id IS NOT NULL)', name=op.f('ck_marking_allocations_reallocation_has_reason')),
    sa.ForeignKeyConstraint(['allocated_by_id'], ['users.id'], name=op.f('fk_marking_allocations_allocated_by_id_users')),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_marking_allocations_marker_id_users')),
    sa.ForeignKeyConstraint(['replaces_id'], ['marking_allocations.id'], name=op.f('fk_marking_allocations_replaces_id_marking_allocations')),
    sa.ForeignKeyConstraint(['script_id'], ['attempt_items.id'], name=op.f('fk_marking_allocations_script_id_attempt_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marking_allocations')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_marking_allocations_replaces_id'))
    )
    with op.batch_alter_table('marking_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_marking_allocations_marker', ['marker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_marking_allocations_script_id'), ['script_id'], unique=False)
        batch_op.create_index('uq_marking_allocations_round', ['script_id', 'round'], unique=True, sqlite_where=sa.text('replaces_id IS NULL'), postgresql_where=sa.text('replaces_id IS NULL'))

    op.create_table('marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.String(length=10), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Double(), nullable=False),
    sa.Column('comment', sa.Text(), server_default='', nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("round IN ('first', 'second') OR (reason IS NOT NULL AND length(trim(reason)) > 0)", name=op.f('ck_marks_final_mark_has_reason')),
    sa.CheckConstraint("round IN ('first', 'second', 'third', 'moderator')", name=op.f('ck_marks_round_known')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_marks_total_not_negative')),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_marks_marker_id_users')),
    sa.ForeignKeyConstraint(['script_id'], ['attempt_items.id'], name=op.f('fk_marks_script_id_attempt_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marks'))
    )
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.create_index('ix_marks_marker', ['marker_id'], unique=False)
        batch_op.create_index('uq_marks_marker_once', ['script_id', 'marker_id'], unique=True, sqlite_where=sa.text("round <> 'moderator'"), postgresql_where=sa.text("round <> 'moderator'"))
        batch_op.create_index('uq_marks_round', ['script_id', 'round'], unique=True)

    op.create_table('moderation_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(decision = 'amend') = (score IS NOT NULL)", name=op.f('ck_moderation_decisions_amend_has_score')),
    sa.CheckConstraint("decision = 'ratify' OR length(trim(reason)) > 0", name=op.f('ck_moderation_decisions_change_has_reason')),
    sa.CheckConstraint("decision IN ('ratify', 'amend', 'withhold')", name=op.f('ck_moderation_decisions_decision_known')),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_moderation_decisions_moderator_id_users')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_moderation_decisions_result_id_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_decisions')),
    sa.UniqueConstraint('result_id', 'revision', name='uq_moderation_decisions_revision')
    )
    op.create_table('moderation_samples',
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=100), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_moderation_samples_drawn_by_id_users')),
    sa.ForeignKeyConstraint(['result_id'], ['results.id'], name=op.f('fk_moderation_samples_result_id_results')),
    sa.PrimaryKeyConstraint('result_id', name=op.f('pk_moderation_samples'))
    )
    op.create_table('agreed_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('script_id', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Double(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('first_mark_id', sa.Integer(), nullable=True),
    sa.Column('second_mark_id', sa.Integer(), nullable=True),
    sa.Column('final_mark_id', sa.Integer(), nullable=True),
    sa.Column('why', sa.Text(), nullable=False),
    sa.Column('agreed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('mean', 'lower', 'third', 'moderator', 'blank')", name=op.f('ck_agreed_marks_method_known')),
    sa.CheckConstraint("method NOT IN ('third', 'moderator') OR final_mark_id IS NOT NULL", name=op.f('ck_agreed_marks_final_mark_named')),
    sa.CheckConstraint('mark >= 0', name=op.f('ck_agreed_marks_mark_not_negative')),
    sa.ForeignKeyConstraint(['final_mark_id'], ['marks.id'], name=op.f('fk_agreed_marks_final_mark_id_marks')),
    sa.ForeignKeyConstraint(['first_mark_id'], ['marks.id'], name=op.f('fk_agreed_marks_first_mark_id_marks')),
    sa.ForeignKeyConstraint(['script_id'], ['attempt_items.id'], name=op.f('fk_agreed_marks_script_id_attempt_items')),
    sa.ForeignKeyConstraint(['second_mark_id'], ['marks.id'], name=op.f('fk_agreed_marks_second_mark_id_marks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreed_marks')),
    sa.UniqueConstraint('script_id', name=op.f('uq_agreed_marks_script_id'))
    )
    op.create_table('criterion_marks',
    sa.Column('mark_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=32), nullable=False),
    sa.Column('marks', sa.Double(), nullable=False),
    sa.CheckConstraint('marks >= 0', name=op.f('ck_criterion_marks_marks_not_negative')),
    sa.ForeignKeyConstraint(['mark_id'], ['marks.id'], name=op.f('fk_criterion_marks_mark_id_marks')),
    sa.PrimaryKeyConstraint('mark_id', 'criterion', name=op.f('pk_criterion_marks'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_assessor', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(op.f('ck_users_lead_is_assessor'), "NOT lead_assessor OR role = 'assessor'")



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_lead_is_assessor'), type_='check')
        batch_op.drop_column('lead_assessor')

    op.drop_table('criterion_marks')
    op.drop_table('agreed_marks')
    op.drop_table('moderation_samples')
    op.drop_table('moderation_decisions')
    with op.batch_alter_table('marks', schema=None) as batch_op:
        batch_op.drop_index('uq_marks_round')
        batch_op.drop_index('uq_marks_marker_once', sqlite_where=sa.text("round <> 'moderator'"), postgresql_where=sa.text("round <> 'moderator'"))
        batch_op.drop_index('ix_marks_marker')

    op.drop_table('marks')
    with op.batch_alter_table('marking_allocations', schema=None) as batch_op:
        batch_op.drop_index('uq_marking_allocations_round', sqlite_where=sa.text('replaces_id IS NULL'), postgresql_where=sa.text('replaces_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_marking_allocations_script_id'))
        batch_op.drop_index('ix_marking_allocations_marker')

    op.drop_table('marking_allocations')
