"""Reference data: districts, industry domains and application themes.

Rows are loaded by migrations through :mod:`marketplace.reference_data`, never typed by hand.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base


class _ReferenceMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stable machine code used in URLs, filters, imports and the API (e.g. ``yuzhong``).
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    name_en: Mapped[str] = mapped_column(String(96), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def __str__(self) -> str:
        return self.name


class District(_ReferenceMixin, Base):
    """A district or zone of the city (中心城区 plus one "other" for the rest)."""

    __tablename__ = "districts"

    #: True for the 11 central-urban districts and zones appraised every year.
    is_central: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Domain(_ReferenceMixin, Base):
    """One of the 12 industry domains of the programme's 产业体系."""

    __tablename__ = "domains"


class Theme(_ReferenceMixin, Base):
    """An application theme: 智造重镇 or 智慧名城."""

    __tablename__ = "themes"
