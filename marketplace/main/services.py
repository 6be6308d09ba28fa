"""Figures for the home page and the role workspaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.models import (
    ApprovalStatus,
    District,
    Domain,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)


def home_counts(session: Session) -> dict[str, int]:
    """Live counts shown on the home page."""
    def count_orgs(*kinds: OrganisationKind) -> int:
        return session.execute(
            sa.select(sa.func.count(Organisation.id)).where(Organisation.kind.in_(kinds), Organisation.active)
        ).scalar_one()

    return {
        "districts": session.execute(
            sa.select(sa.func.count(District.id)).where(District.is_central)
        ).scalar_one(),
        "domains": session.execute(sa.select(sa.func.count(Domain.id))).scalar_one(),
        "owners": count_orgs(*OrganisationKind.owner_kinds()),
        "firms": count_orgs(OrganisationKind.SOFTWARE_ENTERPRISE),
        **scenario_counts(session),
    }


def scenario_counts(session: Session) -> dict[str, int]:
    """Public scenario figures: published (and later), open for applications now, accepted."""
    from marketplace import clock
    from marketplace.models import Scenario, ScenarioStatus

    now = clock.now()
    public = Scenario.status.in_(ScenarioStatus.public())
    is_open = sa.and_(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > now)
    row = session.execute(sa.select(
        sa.func.count(Scenario.id).filter(public),
        sa.func.count(Scenario.id).filter(is_open),
        sa.func.count(Scenario.id).filter(Scenario.status == ScenarioStatus.ACCEPTED),
    )).one()
    return {"scenarios": row[0], "open": row[1], "accepted": row[2]}


#: Scenarios in each list of the home page.
HOME_LIST_SIZE = 6
DAY = timedelta(days=1)


@dataclass(frozen=True)
class HomeItem:
    """One line of a home-page list, read as plain columns (no ORM objects)."""

    id: int
    title: str
    owner: str
    district: str
    district_en: str | None
    published_at: datetime | None
    deadline: datetime | None
    #: Whole days until the deadline (0: less than a day); None once it has passed.
    days_left: int | None
    is_open: bool


def home_lists(session: Session, now: datetime, size: int = HOME_LIST_SIZE) -> dict[str, Any]:
    """The home page's "最新发布" (newest public scenarios) and "即将截止" (open scenarios, nearest deadline
    first), two queries; ``changes_at`` is the next moment a "N 天" count shown would drop (the page cache
    keeps the page no longer than that)."""
    from marketplace.models import Scenario, ScenarioStatus

    columns = sa.select(Scenario.id, Scenario.title, Scenario.published_at, Scenario.deadline, Scenario.status,
                        Organisation.name.label("owner"), District.name.label("district"),
                        District.name_en.label("district_en")) \
        .join(Organisation, Organisation.id == Scenario.owner_id).outerjoin(District, District.id == Scenario.district_id)
    is_open = sa.and_(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > now)
    newest = session.execute(columns.where(Scenario.status.in_(ScenarioStatus.public()))
                             .order_by(Scenario.published_at.desc(), Scenario.id.desc()).limit(size)).all()
    closing = session.execute(columns.where(is_open).order_by(Scenario.deadline.asc(), Scenario.id.asc())
                              .limit(size)).all()

    def item(row: Any) -> HomeItem:
        open_now = row.status == ScenarioStatus.PUBLISHED and row.deadline is not None and row.deadline > now
        days = (row.deadline - now) // DAY if open_now else None
        return HomeItem(row.id, row.title, row.owner, row.district or "", row.district_en, row.published_at,
                        row.deadline, days, open_now)

    closing_items = [item(row) for row in closing]
    # A count of N whole days drops to N - 1 when exactly N days are left (at the deadline for N = 0).
    moments = [i.deadline - i.days_left * DAY for i in closing_items if i.deadline and i.days_left is not None]
    return {"newest": [item(row) for row in newest], "closing": closing_items,
            "changes_at": min(moments) if moments else None}


def pending_approvals_query(user: User) -> sa.Select:
    """Owner registrations the staff user may approve (their district, or all for city staff)."""
    query = (
        sa.select(User)
        .join(User.organisation)
        .where(User.approval_status == ApprovalStatus.PENDING)
        .order_by(User.created_at)
    )
    if user.role == Role.DISTRICT_STAFF:
        query = query.where(Organisation.district_id == user.district_id)
    elif user.role != Role.CITY_STAFF:
        query = query.where(sa.false())
    return query


def pending_approvals_count(session: Session, user: User) -> int:
    """How many owner registrations wait for this staff user (a workbench to-do)."""
    return session.execute(sa.select(sa.func.count()).select_from(pending_approvals_query(user).subquery())).scalar_one()


def previous_sign_in(session: Session, user: User) -> datetime | None:
    """When the user signed in before this session (the account card's 上次登录): ``last_login_at`` is this
    session's own sign-in, so the latest successful password sign-in recorded before it."""
    if user.last_login_at is None:
        return None
    return session.execute(
        sa.select(sa.func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == user.email, LoginAttempt.success.is_(True),
            LoginAttempt.created_at < user.last_login_at - timedelta(seconds=1))).scalar_one_or_none()


def workspace(session: Session, user: User) -> dict[str, Any]:
    """What the signed-in user's workspace shows for their role."""
    data: dict[str, Any] = {"organisation": user.organisation, "previous_sign_in": previous_sign_in(session, user)}
    if user.role in (Role.DISTRICT_STAFF, Role.CITY_STAFF):
        org_filter = [Organisation.active]
        if user.role == Role.DISTRICT_STAFF:
            org_filter.append(Organisation.district_id == user.district_id)
        rows = session.execute(
            sa.select(Organisation.kind, sa.func.count(Organisation.id)).where(*org_filter).group_by(Organisation.kind)
        ).all()
        data["organisations_by_kind"] = [(kind, n) for kind, n in sorted(rows, key=lambda r: r[0].value)]
    if user.role == Role.CITY_STAFF:
        rows = session.execute(
            sa.select(User.role, sa.func.count(User.id)).where(User.active).group_by(User.role)
        ).all()
        data["users_by_role"] = sorted(rows, key=lambda r: r[0].value)
    return data
