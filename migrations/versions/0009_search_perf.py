"""search perf

PostgreSQL search at 100k records: ``search_entries.title_tsv`` (the title's own ``tsvector``,
stored inline and uncompressed, ``STORAGE PLAIN``) with a GIN index, so that relevance ranking can
take its bounded candidate set from title matches without reading each record's large ``tsv``;
and a "highest budget first" browsing index.  The full-text pieces are PostgreSQL only (the
column is plain text elsewhere, as ``tsv``).  Existing entries get their ``title_tsv`` from the
next ``flask search reindex`` (until then ranking simply finds no title candidates).

Revision ID: 0009_search_perf
Revises: 0008_match_feedback
Create Date: 2026-12-04 23:50:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009_search_perf'
down_revision = '0008_match_feedback'
branch_labels = None
depends_on = None


def _on_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    on_postgres = _on_postgres()
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_tsv', postgresql.TSVECTOR() if on_postgres else sa.Text(), nullable=True))
    if on_postgres:
        op.execute("ALTER TABLE search_entries ALTER COLUMN title_tsv SET STORAGE PLAIN")
        op.create_index('ix_search_entries_title_tsv', 'search_entries', ['title_tsv'], unique=False,
                        postgresql_using='gin')
        op.create_index('ix_search_entries_budget', 'search_entries',
                        [sa.text('budget DESC NULLS LAST'), sa.text('published_at DESC NULLS LAST'),
                         'doc_type', 'doc_id'], unique=False)


def downgrade():
    if _on_postgres():
        op.drop_index('ix_search_entries_budget', table_name='search_entries')
        op.drop_index('ix_search_entries_title_tsv', table_name='search_entries', postgresql_using='gin')
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_column('title_tsv')
