"""search idx

PostgreSQL search at 100k records: an index on ``search_entries.deadline``, so that the
"deadline" order of a text query with many matches reads a window of upcoming deadlines
(intersected with the text's GIN bitmap) instead of every match.  PostgreSQL only, like the
other search indexes.

Revision ID: 0015_search_idx
Revises: 0014_consent
Create Date: 2026-12-05 02:50:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_search_idx'
down_revision = '0014_consent'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_search_entries_deadline', 'search_entries', ['deadline'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_search_entries_deadline', table_name='search_entries')
