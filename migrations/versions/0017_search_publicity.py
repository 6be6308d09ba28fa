"""search publicity

``search_entries.publicity_until``: the end of an awarded scenario's award notice (公示), far in the
future while an objection on it is undecided, NULL without a notice.  With ``status`` it decides at
query time whether the site search shows and counts the scenario as 公示中 (``publicity``) or
已揭榜 (``awarded``), as the clock decides open / closed from ``deadline``.  Existing rows read as
"no notice" until ``flask search reindex`` fills the column.

Revision ID: 0017_search_publicity
Revises: 0015_search_idx
Create Date: 2026-12-05 09:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_search_publicity'
down_revision = '0015_search_idx'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publicity_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_column('publicity_until')
