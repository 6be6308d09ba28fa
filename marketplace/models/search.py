"""The PostgreSQL full-text search table (``SEARCH_BACKEND=postgres``).

One row per searchable record, written by :class:`marketplace.search.postgres_backend.PostgresBackend`
after the record's transaction commits.  The table is derived data: ``flask search reindex``
rebuilds it from the source tables.  It is part of the shared metadata so migrations create it
on every database, but only the PostgreSQL backend reads or writes it; on SQLite ``tsv`` is
plain text and the GIN index is not created.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, TimestampMixin, UTCDateTime

__all__ = ["SearchEntry", "TSVector"]


class TSVector(sa.types.TypeDecorator):
    """``tsvector`` on PostgreSQL, ``TEXT`` elsewhere (so the table exists on SQLite too).

    Values are written as ``tsvector`` literals built in Python from the project tokeniser's
    output (see :func:`marketplace.search.postgres_backend.tsvector_literal`), cast on insert.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[object]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TSVECTOR())
        return dialect.type_descriptor(sa.Text())


class SearchEntry(TimestampMixin, Base):
    """A searchable record (scenario, enterprise or demonstration) as the search backend sees it."""

    __tablename__ = "search_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``scenario`` / ``enterprise`` / ``demonstration``.
    doc_type: Mapped[str] = mapped_column(sa.String(32))
    #: Primary key of the record in its own table.
    doc_id: Mapped[int] = mapped_column(sa.BigInteger)
    title: Mapped[str] = mapped_column(sa.Text, default="")
    #: Description, boundary, requirements, … (what snippets are cut from).
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: Owner, district, domain and batch names: searchable, weighted below the body.
    extra: Mapped[str] = mapped_column(sa.Text, default="")
    district: Mapped[str | None] = mapped_column(sa.String(64))
    domain: Mapped[str | None] = mapped_column(sa.String(64))
    #: Stored lifecycle status; ``published`` is split into open / closed at query time,
    #: ``awarded`` into publicity / awarded.
    status: Mapped[str | None] = mapped_column(sa.String(32))
    theme: Mapped[str | None] = mapped_column(sa.String(64))
    #: Batch ids separated and surrounded by blanks (``" 3 7 "``) so ``LIKE '% 3 %'`` matches
    #: one id exactly on every database.
    batches: Mapped[str] = mapped_column(sa.Text, default=" ")
    #: Budget in 万元.
    budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Application deadline; with ``status`` it decides open / closed at query time.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: End of an ``awarded`` record's 公示 (far future while an objection is undecided); with
    #: ``status`` it decides 公示中 (``publicity``) / 已揭榜 at query time.
    publicity_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Version of the indexed content (hash or ``updated_at``), compared by ``search check``.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Weighted, pre-segmented text: title A, body B, extra C.
    tsv: Mapped[str | None] = mapped_column(TSVector())
    #: The title alone (label A), small and stored inline (``STORAGE PLAIN`` on PostgreSQL): where
    #: relevance ranking takes its candidates from when a query matches very many records.
    title_tsv: Mapped[str | None] = mapped_column(TSVector())

    __table_args__ = (
        sa.UniqueConstraint("doc_type", "doc_id"),
        # PostgreSQL only (the backend never runs elsewhere): full text, and the default
        # "newest" order of browsing (ORDER BY … LIMIT walks this index).
        sa.Index("ix_search_entries_tsv", "tsv", postgresql_using="gin").ddl_if(dialect="postgresql"),
        sa.Index(
            "ix_search_entries_newest", sa.text("published_at DESC NULLS LAST"), "doc_type", "doc_id"
        ).ddl_if(dialect="postgresql"),
        # The exact expressions the queries use: ``title_tsv @@ …`` and ORDER BY budget.
        sa.Index("ix_search_entries_title_tsv", "title_tsv", postgresql_using="gin").ddl_if(dialect="postgresql"),
        sa.Index(
            "ix_search_entries_budget",
            sa.text("budget DESC NULLS LAST"),
            sa.text("published_at DESC NULLS LAST"),
            "doc_type",
            "doc_id",
        ).ddl_if(dialect="postgresql"),
        # The "deadline" order's window of upcoming deadlines (migration 0015).
        sa.Index("ix_search_entries_deadline", "deadline").ddl_if(dialect="postgresql"),
        # Move body and tsvector out of the main heap (TOAST) so that browsing and facet
        # counts, which scan the small columns of many rows, do not read ~2 kB per row.
        {"postgresql_with": {"toast_tuple_target": 128}},
    )

    def __repr__(self) -> str:
        return f"<SearchEntry {self.doc_type}:{self.doc_id}>"


# ``title_tsv`` stays inline and uncompressed (tables made by ``create_all``; migration 0009 does
# the same), so reading it for many rows never touches TOAST.
sa.event.listen(
    SearchEntry.__table__,
    "after_create",
    sa.DDL("ALTER TABLE search_entries ALTER COLUMN title_tsv SET STORAGE PLAIN").execute_if(dialect="postgresql"),
)
