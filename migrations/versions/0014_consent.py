"""consent: 用户协议 / 隐私政策 versions and users' consents to them

``legal_documents``: published versions (never edited; a new version is a new row), with version 1
of both documents inserted here (the text of ``marketplace/legal/initial.py``).
``consents``: which version of which document a user accepted, when and from where.

Revision ID: 0014_consent
Revises: 0013_public_attachments
Create Date: 2026-12-05 02:40:00.000000

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_consent'
down_revision = '0013_public_attachments'
branch_labels = None
depends_on = None


def upgrade():
    documents = op.create_table(
        'legal_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=128), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['published_by_id'], ['users.id'],
                                name=op.f('fk_legal_documents_published_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_documents')),
        sa.UniqueConstraint('kind', 'version', name='uq_legal_documents_kind_version'),
    )
    op.create_table(
        'consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consents_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
        sa.UniqueConstraint('user_id', 'kind', 'version', name='uq_consents_user_kind_version'),
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_user_id'), ['user_id'], unique=False)

    from marketplace.legal.initial import INITIAL

    now = datetime.now(UTC)
    op.bulk_insert(documents, [
        {'kind': kind, 'version': 1, 'title': title, 'body': body, 'published_at': now, 'created_at': now}
        for kind, (title, body) in INITIAL.items()
    ])


def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_user_id'))
    op.drop_table('consents')
    op.drop_table('legal_documents')
