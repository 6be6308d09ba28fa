"""search

The ``search_entries`` table of the PostgreSQL search backend (``SEARCH_BACKEND=postgres``).
It exists on every database so that the schema matches the models, but the full-text pieces
are PostgreSQL only: ``tsv`` is ``tsvector`` (plain text elsewhere), the GIN index on it, the
"newest first" browsing index and the ``toast_tuple_target`` storage parameter.

Revision ID: 0005_search
Revises: 0004_showcase
Create Date: 2026-11-25 20:37:13.041213

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0005_search'
down_revision = '0004_showcase'
branch_labels = None
depends_on = None


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    on_postgres = _on_postgres()
    table_options = {"postgresql_with": {"toast_tuple_target": 128}} if on_postgres else {}
    op.create_table('search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doc_type', sa.String(length=32), nullable=False),
    sa.Column('doc_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('extra', sa.Text(), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('domain', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('theme', sa.String(length=64), nullable=True),
    sa.Column('batches', sa.Text(), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('tsv', postgresql.TSVECTOR() if on_postgres else sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries')),
    sa.UniqueConstraint('doc_type', 'doc_id', name=op.f('uq_search_entries_doc_type')),
    **table_options,
    )
    if on_postgres:
        op.create_index('ix_search_entries_tsv', 'search_entries', ['tsv'], unique=False, postgresql_using='gin')
        op.create_index('ix_search_entries_newest', 'search_entries',
                        [sa.text('published_at DESC NULLS LAST'), 'doc_type', 'doc_id'], unique=False)


def downgrade():
    if _on_postgres():
        op.drop_index('ix_search_entries_newest', table_name='search_entries')
        op.drop_index('ix_search_entries_tsv', table_name='search_entries', postgresql_using='gin')
    op.drop_table('search_entries')
