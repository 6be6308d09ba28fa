"""matching

``match_state`` (the version stamp of the fitted matching models, bumped on commit) and
``match_invitations`` ("邀请揭榜" from a scenario's 推荐企业 list, once per firm and scenario).

Revision ID: 0006_matching
Revises: 0005_search
Create Date: 2026-11-26 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_matching'
down_revision = '0005_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_state',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_match_state')),
    )
    op.create_table('match_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_match_invitations_invited_by_id_users')),
    sa.ForeignKeyConstraint(['profile_id'], ['enterprise_profiles.id'],
                            name=op.f('fk_match_invitations_profile_id_enterprise_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'],
                            name=op.f('fk_match_invitations_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_invitations')),
    sa.UniqueConstraint('scenario_id', 'profile_id', name=op.f('uq_match_invitations_scenario_id')),
    )
    with op.batch_alter_table('match_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_invitations_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_invitations_scenario_id'), ['scenario_id'], unique=False)


def downgrade():
    with op.batch_alter_table('match_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_invitations_scenario_id'))
        batch_op.drop_index(batch_op.f('ix_match_invitations_profile_id'))
    op.drop_table('match_invitations')
    op.drop_table('match_state')
