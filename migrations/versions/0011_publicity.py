"""publicity (公示) and objections (异议)

``publicity_notices``: the public notice an award opens (winners, ranking, panel, period, withdrawal);
``objections``: 异议 filed during a notice, the owner's answer and the staff decision;
``objection_documents``: evidence files of an objection (link rows to ``attachments``).

Revision ID: 0011_publicity
Revises: 0008_match_feedback
Create Date: 2026-12-04 23:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_publicity'
down_revision = '0010_deadline_rules'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('publicity_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('winners', sa.JSON(), nullable=False),
    sa.Column('ranking', sa.JSON(), nullable=False),
    sa.Column('panel', sa.JSON(), nullable=False),
    sa.Column('prior_statuses', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_publicity_notices_created_by_id_users')),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenarios.id'],
                            name=op.f('fk_publicity_notices_scenario_id_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publicity_notices')),
    )
    with op.batch_alter_table('publicity_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publicity_notices_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publicity_notices_scenario_id'), ['scenario_id'], unique=False)

    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('objector_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=32), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_objections_answered_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_objections_decided_by_id_users')),
    sa.ForeignKeyConstraint(['notice_id'], ['publicity_notices.id'],
                            name=op.f('fk_objections_notice_id_publicity_notices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['objector_id'], ['users.id'], name=op.f('fk_objections_objector_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_objections_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections')),
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_objector_id'), ['objector_id'], unique=False)

    op.create_table('objection_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'],
                            name=op.f('fk_objection_documents_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['objection_id'], ['objections.id'],
                            name=op.f('fk_objection_documents_objection_id_objections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objection_documents')),
    )
    with op.batch_alter_table('objection_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objection_documents_objection_id'), ['objection_id'], unique=False)


def downgrade():
    with op.batch_alter_table('objection_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objection_documents_objection_id'))
    op.drop_table('objection_documents')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_objector_id'))
        batch_op.drop_index(batch_op.f('ix_objections_notice_id'))
    op.drop_table('objections')
    with op.batch_alter_table('publicity_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publicity_notices_scenario_id'))
        batch_op.drop_index(batch_op.f('ix_publicity_notices_ends_at'))
    op.drop_table('publicity_notices')
