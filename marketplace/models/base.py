"""Declarative base, column types and mixins shared by every model, and the one dialect-aware insert.

The metadata carries a constraint naming convention so that Alembic diffs are
stable across SQLite and PostgreSQL.

Timestamps: a row that changes after it is written carries :class:`TimestampMixin`
(``created_at`` and ``updated_at``); a row that is only ever added (audit events, login
attempts, invitations, acceptance attempts …) carries :class:`CreatedAtMixin`. Pure link
rows (a scenario's documents, a profile's domains) and reference data loaded by migrations
carry none: the rows they link hold the times.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from marketplace.i18n import request_translations

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are
    stored as naive UTC and given ``tzinfo=UTC`` again when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: catalogue (the request's Translations) → enum class → value → translated label.
_TRANSLATED_LABELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a (translatable) Chinese label.

    Subclasses define ``__labels__`` mapping values to lazy strings; forms,
    templates and exports all read ``member.label``.
    """

    @property
    def label(self) -> str:
        cls = type(self)
        if has_request_context():
            # Translated once per enum class and catalogue: a list page shows a status and a mode per row.
            per_catalogue = _TRANSLATED_LABELS.setdefault(request_translations(), {})
            labels = per_catalogue.get(cls)
            if labels is None:
                labels = per_catalogue[cls] = {k: str(v) for k, v in cls.__labels__().items()}  # type: ignore[attr-defined]
            return labels.get(self.value, self.value)
        lazy: dict[str, Any] = cls.__labels__()  # type: ignore[attr-defined]
        return str(lazy.get(self.value, self.value))

    @property
    def lazy_label(self) -> Any:
        """The label as a lazy string, translated when rendered: for choices built when a form class is defined."""
        return type(self).__labels__().get(self.value, self.value)  # type: ignore[attr-defined]

    @classmethod
    def choices(cls) -> list[tuple[str, Any]]:
        """(value, label) pairs for form select fields. Outside a request the labels stay lazy strings,
        translated when rendered: form classes build their choices at import, before any language is known."""
        if has_request_context():
            return [(m.value, m.label) for m in cls]
        return [(m.value, m.lazy_label) for m in cls]

    def __str__(self) -> str:
        return self.value


class StrEnumType(sa.types.TypeDecorator):
    """Stores a :class:`LabelledEnum` as its string value (no native enum, no CHECK).

    Adding a member later needs no migration; the Python side refuses unknown values.
    """

    impl = sa.String(32)
    cache_ok = True

    def __init__(self, enum_class: type[LabelledEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> LabelledEnum | None:
        if value is None:
            return None
        return self.enum_class(value)


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class CreatedAtMixin:
    """``created_at`` in UTC, for rows that are written once and never changed."""

    #: When the row was written.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class TimestampMixin(CreatedAtMixin):
    """``created_at`` and ``updated_at`` in UTC, maintained by SQLAlchemy (``onupdate``)."""

    #: When the row last changed (set again by every ORM or Core UPDATE of the row).
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


def insert_or_ignore(session: Session, table_or_model: Any, values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                     conflict_columns: Iterable[str]) -> int:
    """``INSERT … ON CONFLICT (conflict_columns) DO NOTHING`` on SQLite and PostgreSQL; the number of rows inserted.

    For inserts that may race a concurrent identical insert (a double click, two first visits):
    the unique key named by *conflict_columns* decides, atomically and without a savepoint, and the
    loser inserts nothing instead of failing at commit. Any other constraint still raises. Column
    defaults (``created_at`` …) apply as for any Core insert. The statement bypasses the ORM: read
    the row back with a query if you need the object.
    """
    table: sa.Table = getattr(table_or_model, "__table__", table_or_model)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # the platform runs on SQLite or PostgreSQL only
        raise NotImplementedError(f"insert_or_ignore does not support {dialect}")
    rows = [dict(values)] if isinstance(values, Mapping) else [dict(v) for v in values]
    if not rows:
        return 0
    statement = (insert(table).values(rows).on_conflict_do_nothing(index_elements=list(conflict_columns))
                 .returning(*table.primary_key.columns))  # counted from RETURNING: rowcount is not reliable here
    return len(session.execute(statement).all())
