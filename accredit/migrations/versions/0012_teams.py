"""Teams, development notes and history views: a leader's cohort by team, notes a candidate
sees, and a record of each time a leader opened a candidate's history.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 22:15:25.998405

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_teams_has_name')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_teams_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('organisation_id', 'name', name='uq_teams_name')
    )
    op.create_table('development_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(trim(note)) > 0', name=op.f('ck_development_notes_has_note')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_development_notes_author_id_users')),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_development_notes_candidate_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_development_notes'))
    )
    with op.batch_alter_table('development_notes', schema=None) as batch_op:
        batch_op.create_index('ix_development_notes_candidate', ['candidate_id', 'created_at'], unique=False)

    op.create_table('history_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('viewer_id', sa.Integer(), nullable=False),
    sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_history_views_candidate_id_users')),
    sa.ForeignKeyConstraint(['viewer_id'], ['users.id'], name=op.f('fk_history_views_viewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_views'))
    )
    with op.batch_alter_table('history_views', schema=None) as batch_op:
        batch_op.create_index('ix_history_views_candidate', ['candidate_id', 'viewed_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_team_id_teams'), 'teams', ['team_id'], ['id'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_team_id_teams'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_team_id'))
        batch_op.drop_column('team_id')

    with op.batch_alter_table('history_views', schema=None) as batch_op:
        batch_op.drop_index('ix_history_views_candidate')

    op.drop_table('history_views')
    with op.batch_alter_table('development_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_development_notes_candidate')

    op.drop_table('development_notes')
    op.drop_table('teams')
