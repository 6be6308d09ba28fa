"""match feedback

``match_feedback``: a suggested firm marked "not relevant" (不相关) for a scenario by its owner or
reviewers; hidden from that scenario's suggestions and counted by ``flask match report``.

Revision ID: 0008_match_feedback
Revises: 0007_code_health
Create Date: 2026-12-04 20:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_match_feedback'
down_revision = '0007_code_health'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('marked_by_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('terms', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marked_by_id'], ['users.id'], name=op.f('fk_match_feedback_marked_by_id_users')),
    sa.ForeignKeyConstraint(['profile_id'], ['enterprise_profiles.id'],
                            name=op.f('fk_match_feedback_profile_id_enterprise_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'],
                            name=op.f('fk_match_feedback_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_feedback')),
    sa.UniqueConstraint('scenario_id', 'profile_id', name=op.f('uq_match_feedback_scenario_id')),
    )
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_feedback_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_feedback_scenario_id'), ['scenario_id'], unique=False)


def downgrade():
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_feedback_scenario_id'))
        batch_op.drop_index(batch_op.f('ix_match_feedback_profile_id'))
    op.drop_table('match_feedback')
