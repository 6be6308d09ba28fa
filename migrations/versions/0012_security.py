"""security: session generations, confirmed e-mail addresses, keyed audit chain

``users.email_confirmed``: false for a self-registration until the mailed link is opened.

``users.session_generation``: stored in the session at sign-in and checked on every request; bumped by
sign-out, password change/reset, deactivation, role change and "sign out everywhere".

``audit_events.hash_version``: 1 for the rows already written (unkeyed SHA-256), 2 for rows written
from now on (HMAC-SHA256 with ``AUDIT_KEY``). Existing rows are not rewritten: ``flask audit verify``
checks version-1 rows with SHA-256 and refuses a version-1 row after a version-2 row, so the old
prefix is protected by the first keyed row (its HMAC covers the last unkeyed hash) and by the
checkpoints.

Revision ID: 0012_security
Revises: 0008_match_feedback
Create Date: 2026-12-04 23:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_security'
down_revision = '0011_publicity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('email_confirmed', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_version', sa.SmallInteger(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('hash_version')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed')
        batch_op.drop_column('session_generation')
