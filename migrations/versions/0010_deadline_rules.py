"""deadline rules: applications remember the deadline they were promised

``applications.sealed_until``: the latest deadline an application was submitted or re-confirmed under;
it stays sealed until then at least (marketplace.applications.policy). Existing submitted rows are
backfilled with their scenario's current deadline.
``expert_assignments.removed_at / removed_by_id / removal_reason``: the owner removed an unresponsive expert.

Revision ID: 0010_deadline_rules
Revises: 0008_match_feedback
Create Date: 2026-12-04 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_deadline_rules'
down_revision = '0009_search_perf'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_until', sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text(
        "UPDATE applications SET sealed_until = "
        "(SELECT scenarios.deadline FROM scenarios WHERE scenarios.id = applications.scenario_id) "
        "WHERE submitted_at IS NOT NULL"))
    with op.batch_alter_table('expert_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('removed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('removal_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_expert_assignments_removed_by_id_users'), 'users',
                                    ['removed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('expert_assignments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_expert_assignments_removed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('removal_reason')
        batch_op.drop_column('removed_by_id')
        batch_op.drop_column('removed_at')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('sealed_until')
