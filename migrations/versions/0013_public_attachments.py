"""public attachments: the owner publishes a scenario document (公开) or keeps it internal

``scenario_documents.public``: false (internal: the owner organisation and reviewing staff only) for
every existing and new document until the owner publishes it; a published document of a public
scenario is listed on the scenario page, its print view and the API, and downloadable by anyone.

Revision ID: 0013_public_attachments
Revises: 0012_security
Create Date: 2026-12-05 02:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_public_attachments'
down_revision = '0012_security'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scenario_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('scenario_documents', schema=None) as batch_op:
        batch_op.drop_column('public')
